package loadgen

import (
	"context"
	"fmt"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gannet-mq/gannet/internal/server/servertest"
)

// TestAMQPConsumerSubscribedWhenOpened checks that an AMQP consumer holds a
// subscription on every one of its queues once newConsumer returns, before
// the run publishes. Subscribing in run instead left messages waiting for
// their queue's basic.consume-ok: with 1000 queues that was most of the
// first second's messages, and the p99 of the whole run.
func TestAMQPConsumerSubscribedWhenOpened(t *testing.T) {
	for _, client := range AMQPClients() {
		t.Run(client, func(t *testing.T) {
			addr := servertest.Start(t).AMQP
			cfg := DefaultConfig()
			cfg.Protocol, cfg.Addr, cfg.Queues, cfg.Consumers = "amqp", addr, 6, 2
			cfg.AMQPClient = client
			w := newAMQPWorkload(cfg)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := w.setup(ctx); err != nil {
				t.Fatal(err)
			}
			for m := range cfg.Consumers {
				c, err := w.newConsumer(ctx, 0, m)
				if err != nil {
					t.Fatal(err)
				}
				defer c.close()
			}
			conn, err := amqp.Dial("amqp://guest:guest@" + addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ch, err := conn.Channel()
			if err != nil {
				t.Fatal(err)
			}
			for q := range cfg.Queues {
				info, err := ch.QueueDeclarePassive(w.queue(q, 0), true, false, false, false, nil)
				if err != nil {
					t.Fatal(err)
				}
				if info.Consumers != 1 {
					t.Errorf("queue %s has %d consumers before the run, want 1", info.Name, info.Consumers)
				}
			}
		})
	}
}

// TestAMQPRunWithEitherClient runs the AMQP workload against a whole Gannet
// with each client, with fan-out to two groups and one ack per ten
// deliveries: every confirmed message must reach both groups exactly once.
func TestAMQPRunWithEitherClient(t *testing.T) {
	addr := servertest.Start(t).AMQP
	for _, client := range AMQPClients() {
		t.Run(client, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Protocol, cfg.Addr, cfg.AMQPClient, cfg.Prefix = "amqp", addr, client, "run-"+client
			cfg.Count, cfg.Producers, cfg.Groups, cfg.Queues, cfg.AckEvery = 3000, 2, 2, 3, 10
			res, err := Run(context.Background(), cfg, Meta{Workload: "either", System: "gannet"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Confirmed != 3000 || res.Unique != 2*res.Confirmed || res.Missing != 0 || res.Duplicates != 0 {
				t.Errorf("confirmed %d of 3000, unique %d over 2 groups, missing %d, duplicates %d",
					res.Confirmed, res.Unique, res.Missing, res.Duplicates)
			}
		})
	}
}

// TestAMQPBacklogOverManyQueues: a consumer of many queues subscribes to
// them one after another while the first ones deliver their backlog at
// once. The lean client's reader waited for run in its first delivery, so
// it never read the next queue's consume-ok and the run hung.
func TestAMQPBacklogOverManyQueues(t *testing.T) {
	addr := servertest.Start(t).AMQP
	for _, client := range AMQPClients() {
		t.Run(client, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Protocol, cfg.Addr, cfg.AMQPClient, cfg.Prefix = "amqp", addr, client, "backlog-"+client
			cfg.Backlog, cfg.Count, cfg.Queues, cfg.Consumers, cfg.Prefetch = true, 2000, 20, 1, 50
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			done := make(chan struct{})
			var res Result
			var err error
			go func() {
				defer close(done)
				res, err = Run(ctx, cfg, Meta{Workload: "backlog", System: "gannet"})
			}()
			select {
			case <-done:
			case <-time.After(2 * time.Minute): // Run ignores ctx while it hangs
				t.Fatal("the backlog run hangs")
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Confirmed != 2000 || res.Unique != 2000 || res.Missing != 0 || res.Duplicates != 0 {
				t.Errorf("confirmed %d of 2000, unique %d, missing %d, duplicates %d",
					res.Confirmed, res.Unique, res.Missing, res.Duplicates)
			}
		})
	}
}

// TestConfirmLedgerSettlesEachConfirmOnce feeds the ledger confirms out of
// order, single and multiple, acks and nacks: each message must be settled
// once, by the confirm that names it first.
func TestConfirmLedgerSettlesEachConfirmOnce(t *testing.T) {
	l := newConfirmLedger()
	settled := map[int][]error{}
	for i := 1; i <= 7; i++ {
		l.add(func(err error) { settled[i] = append(settled[i], err) })
	}
	if !l.takeBack() { // message 7's publish failed
		t.Fatal("takeBack before the channel ended reported it settled")
	}
	l.confirm(2, false, true)
	l.confirm(3, true, true)   // 1 and 3; 2 is already settled
	l.confirm(5, false, false) // a nack of 5 alone
	l.confirm(9, true, true)   // beyond what was published: 4 and 6
	for i := 1; i <= 6; i++ {
		errs := settled[i]
		if len(errs) != 1 {
			t.Fatalf("message %d settled %d times", i, len(errs))
		}
		if (errs[0] != nil) != (i == 5) {
			t.Errorf("message %d settled with %v", i, errs[0])
		}
	}
	if len(settled[7]) != 0 {
		t.Errorf("message 7, taken back, settled %d times", len(settled[7]))
	}
	if len(l.pending) != 0 || l.base != 7 {
		t.Errorf("%d still pending, next tag %d, want 0 and 7", len(l.pending), l.base)
	}
}

// TestConfirmLedgerEndFailsWhatIsPending checks that the end of the channel
// fails every unconfirmed message once, that a publish failing after that
// is left to the ledger, not settled by the run a second time, and that a
// send after it is left to the run.
func TestConfirmLedgerEndFailsWhatIsPending(t *testing.T) {
	l := newConfirmLedger()
	calls := make([]int, 4)
	for i := range calls {
		l.add(func(err error) {
			if err == nil {
				t.Errorf("message %d confirmed", i)
			}
			calls[i]++
		})
	}
	l.end()
	if l.takeBack() {
		t.Error("takeBack after the end reported the message still pending")
	}
	// A send that starts after the end: no confirm will come, so the
	// ledger refuses it and the run settles it (it stayed pending forever,
	// holding a slot of the window until the drain timed out).
	if l.add(func(error) { t.Error("a message added after the end was settled by the ledger") }) {
		t.Error("add after the end took a message no confirm will settle")
	}
	if len(l.pending) != 0 {
		t.Errorf("%d pending after the end, want none", len(l.pending))
	}
	l.confirm(4, true, true) // too late: nothing is pending
	for i, n := range calls {
		if n != 1 {
			t.Errorf("message %d settled %d times, want once", i, n)
		}
	}
}

// TestAckPacerAcksTheHighestTagEveryN checks the ack rhythm both AMQP
// consumers follow: one ack per `every` deliveries, naming the highest tag
// seen, never a tag already acked.
func TestAckPacerAcksTheHighestTagEveryN(t *testing.T) {
	a := ackPacer{every: 3}
	var acks []uint64
	for _, tag := range []uint64{1, 3, 2, 4, 5, 6, 6, 6, 6} {
		if ack := a.delivered(tag); ack != 0 {
			acks = append(acks, ack)
		}
	}
	// 1,3,2 -> 3; 4,5,6 -> 6; 6,6,6 -> none (6 is acked already).
	if fmt.Sprint(acks) != "[3 6]" {
		t.Fatalf("acks %v, want [3 6]", acks)
	}
}
