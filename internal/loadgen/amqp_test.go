package loadgen

import (
	"context"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gannet-mq/gannet/internal/server/servertest"
)

// TestAMQPConsumerSubscribedWhenOpened checks that an AMQP consumer holds a
// subscription on every one of its queues once newConsumer returns, before
// the run publishes. Subscribing in run instead left messages waiting for
// their queue's basic.consume-ok: with 1000 queues that was most of the
// first second's messages, and the p99 of the whole run.
func TestAMQPConsumerSubscribedWhenOpened(t *testing.T) {
	addr := servertest.Start(t).AMQP
	cfg := DefaultConfig()
	cfg.Protocol, cfg.Addr, cfg.Queues, cfg.Consumers = "amqp", addr, 6, 2
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

// TestLeanProducerSettlesEachConfirmOnce feeds the lean producer confirms
// out of order, single and multiple, acks and nacks: each message must be
// settled once, by the confirm that names it first.
func TestLeanProducerSettlesEachConfirmOnce(t *testing.T) {
	p := &leanProducer{base: 1}
	settled := map[int][]error{}
	for i := 1; i <= 6; i++ {
		p.pending = append(p.pending, func(err error) { settled[i] = append(settled[i], err) })
	}
	p.confirm(2, false, true)
	p.confirm(3, true, true)   // 1 and 3; 2 is already settled
	p.confirm(5, false, false) // a nack of 5 alone
	p.confirm(9, true, true)   // beyond what was published: 4 and 6
	for i := 1; i <= 6; i++ {
		errs := settled[i]
		if len(errs) != 1 {
			t.Fatalf("message %d settled %d times", i, len(errs))
		}
		if (errs[0] != nil) != (i == 5) {
			t.Errorf("message %d settled with %v", i, errs[0])
		}
	}
	if len(p.pending) != 0 || p.base != 7 {
		t.Errorf("%d still pending, next tag %d, want 0 and 7", len(p.pending), p.base)
	}
}
