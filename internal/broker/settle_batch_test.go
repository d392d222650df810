package broker

import (
	"context"
	"errors"
	"testing"
)

func openTestBroker(t *testing.T) *Broker {
	t.Helper()
	b, err := Open(Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// declareQueue declares a durable queue with cfg and returns its group.
func declareQueue(t *testing.T, b *Broker, name string, cfg StreamConfig) Group {
	t.Helper()
	cfg.Kind, cfg.Durable = KindQueue, true
	if _, _, err := b.DeclareStream(name, cfg); err != nil {
		t.Fatal(err)
	}
	g, err := b.Queue(name)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// publishN publishes n messages to queue name and waits until they are
// durable (in order: the last one's receipt covers the others).
func publishN(t *testing.T, b *Broker, name string, n int) {
	t.Helper()
	var last Receipt
	for range n {
		var err error
		if last, err = b.Publish("", name, Message{Value: []byte("m")}, PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := last.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// receiveRefs publishes n messages to g's queue and receives them all.
func receiveRefs(t *testing.T, b *Broker, g Group, n int) []Ref {
	t.Helper()
	publishN(t, b, g.Stream(), n)
	ds, err := g.Receive(context.Background(), ReceiveOptions{Consumer: "c", Max: n})
	if err != nil || len(ds) != n {
		t.Fatalf("Receive = %d deliveries, %v; want %d", len(ds), err, n)
	}
	refs := make([]Ref, n)
	for i, d := range ds {
		refs[i] = Ref{Partition: d.Partition, Offset: d.Offset, Count: d.Count}
	}
	return refs
}

func (j *journal) seq() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.queuedSeq
}

// A multiple ack (AMQP multiple, SQS DeleteMessageBatch, XACK with several
// ids) on one partition is one journal record, not one per delivery.
func TestMultipleAckIsOneJournalRecord(t *testing.T) {
	b := openTestBroker(t)
	g := declareQueue(t, b, "q", StreamConfig{})
	refs := receiveRefs(t, b, g, 20)
	before := b.journal.seq()
	if n, err := g.Ack(refs...); n != 20 || err != nil {
		t.Fatalf("Ack = %d, %v", n, err)
	}
	if records := b.journal.seq() - before; records != 1 {
		t.Fatalf("acking 20 deliveries of one partition wrote %d journal records, want 1", records)
	}
}

// A Reject that fails on a bad reference still dead-letters the deliveries
// it took before it, instead of leaving them on their way out for good.
func TestRejectWithABadRefStillDeadLettersTheOthers(t *testing.T) {
	b := openTestBroker(t)
	dlq := declareQueue(t, b, "dlq", StreamConfig{})
	g := declareQueue(t, b, "q", StreamConfig{Group: GroupConfig{DeadLetter: &DeadLetterTarget{RoutingKey: "dlq"}}})
	refs := receiveRefs(t, b, g, 2)
	n, err := g.Reject(refs[0], Ref{Partition: 7}, refs[1])
	if n != 1 || !errors.Is(err, ErrNoSuchPartition) {
		t.Fatalf("Reject = %d, %v; want 1 and ErrNoSuchPartition", n, err)
	}
	ds, err := dlq.Receive(context.Background(), ReceiveOptions{Consumer: "c", Max: 10})
	if err != nil || len(ds) != 1 {
		t.Fatalf("dead-letter queue has %d deliveries, %v; want the one rejected before the bad ref", len(ds), err)
	}
	// The delivery after the bad ref was not touched: still pending.
	if p := g.Pending(""); len(p) != 1 || p[0].Offset != refs[1].Offset {
		t.Fatalf("pending after the failed Reject: %+v", p)
	}
}
