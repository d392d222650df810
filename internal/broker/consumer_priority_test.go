package broker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
)

func TestConsumerPriorityServesHighestFreeConsumer(t *testing.T) {
	h := newHarness(t)
	q := h.queue("ranked", broker.StreamConfig{})
	q.AddConsumerWith("high", broker.ConsumerOptions{Priority: 10})
	q.AddConsumer("low")
	q.AddConsumerWith("lowest", broker.ConsumerOptions{Priority: -5})
	h.publish("", "ranked", "a", broker.PublishOptions{})
	if got := h.receive(q, "low", 1, 0); len(got) != 0 {
		t.Fatalf("low consumer took %q while the high one is free", bodies(got))
	}
	if got := h.receive(q, "get", 1, 0); len(got) != 1 {
		t.Fatal("an unregistered receiver (basic.get) is not ranked, yet got nothing")
	} else {
		q.Release(0, ref(got[0]))
	}
	got := h.receive(q, "high", 1, 0)
	expectBodies(t, got, "a")
	q.Ack(ref(got[0]))

	h.publish("", "ranked", "b", broker.PublishOptions{})
	q.SetConsumerBlocked("high", true)
	if got := h.receive(q, "lowest", 1, 0); len(got) != 0 {
		t.Fatalf("lowest took %q while priority 0 is free", bodies(got))
	}
	expectBodies(t, h.receive(q, "low", 1, 0), "b")

	h.publish("", "ranked", "c", broker.PublishOptions{})
	q.SetConsumerBlocked("low", true)
	expectBodies(t, h.receive(q, "lowest", 1, 0), "c")

	// Free again, the high consumer has the queue to itself.
	q.SetConsumerBlocked("high", false)
	h.publish("", "ranked", "d", broker.PublishOptions{})
	if got := h.receive(q, "lowest", 1, 0); len(got) != 0 {
		t.Fatalf("lowest took %q after the high consumer was freed", bodies(got))
	}
	// A consumer that leaves stops outranking anyone.
	q.RemoveConsumer("high")
	q.SetConsumerBlocked("low", false)
	expectBodies(t, h.receive(q, "low", 1, 0), "d")
}

func TestEqualPrioritiesCompeteAndChangeRanks(t *testing.T) {
	h := newHarness(t)
	q := h.queue("equal", broker.StreamConfig{})
	q.AddConsumerWith("a", broker.ConsumerOptions{Priority: 3})
	q.AddConsumerWith("b", broker.ConsumerOptions{Priority: 3})
	h.publish("", "equal", "1", broker.PublishOptions{})
	h.publish("", "equal", "2", broker.PublishOptions{})
	expectBodies(t, h.receive(q, "a", 1, 0), "1")
	expectBodies(t, h.receive(q, "b", 1, 0), "2")

	// Re-adding with other options changes the rank.
	q.AddConsumerWith("b", broker.ConsumerOptions{Priority: 4})
	h.publish("", "equal", "3", broker.PublishOptions{})
	if got := h.receive(q, "a", 1, 0); len(got) != 0 {
		t.Fatalf("a took %q after b was raised above it", bodies(got))
	}
	q.AddConsumer("b") // plain AddConsumer keeps the options it has
	if got := h.receive(q, "a", 1, 0); len(got) != 0 {
		t.Fatalf("a took %q: AddConsumer reset b's priority", bodies(got))
	}
	expectBodies(t, h.receive(q, "b", 1, 0), "3")
}

func TestBlockingAHigherConsumerWakesAWaitingLowerOne(t *testing.T) {
	h := newHarness(t)
	q := h.queue("handover", broker.StreamConfig{})
	q.AddConsumerWith("high", broker.ConsumerOptions{Priority: 1})
	q.AddConsumer("low")
	h.publish("", "handover", "m", broker.PublishOptions{})
	type result struct {
		ds  []broker.Delivered
		err error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		ds, err := q.Receive(ctx, broker.ReceiveOptions{Consumer: "low", Wait: true})
		done <- result{ds, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("low consumer received %q while the high one is free (err %v)", bodies(r.ds), r.err)
	case <-time.After(50 * time.Millisecond):
	}
	q.SetConsumerBlocked("high", true)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	expectBodies(t, r.ds, "m")
}

func TestSingleActiveConsumerIgnoresPriority(t *testing.T) {
	h := newHarness(t)
	q := h.queue("sac-ranked", broker.StreamConfig{Group: broker.GroupConfig{SingleActiveConsumer: true}})
	q.AddConsumer("first")
	q.AddConsumerWith("second", broker.ConsumerOptions{Priority: 10})
	h.publish("", "sac-ranked", "m", broker.PublishOptions{})
	if got := h.receive(q, "second", 1, 0); len(got) != 0 {
		t.Fatal("a higher priority took over the single active consumer")
	}
	expectBodies(t, h.receive(q, "first", 1, 0), "m")
}

func TestRejectPublishDLXDeadLettersTheRefusedMessage(t *testing.T) {
	h := newHarness(t)
	dead := h.queue("full-dead", broker.StreamConfig{})
	q := h.queue("full", broker.StreamConfig{MaxLength: 1, Overflow: broker.OverflowRejectPublishDLX,
		Group: broker.GroupConfig{DeadLetter: &broker.DeadLetterTarget{RoutingKey: "full-dead"}}})
	h.publish("", "full", "kept", broker.PublishOptions{})
	if _, err := h.b.Publish("", "full", broker.Message{Value: []byte("refused")}, broker.PublishOptions{}); !errors.Is(err, broker.ErrQueueFull) {
		t.Fatalf("publish past max-length with reject-publish-dlx: %v", err)
	}
	expectBodies(t, h.receive(q, "c", 10, 0), "kept")
	got := h.receive(dead, "c", 10, 0)
	expectBodies(t, got, "refused")
	d := got[0].Deaths()
	if len(d) != 1 || d[0].Reason != broker.ReasonMaxLength || d[0].Queue != "full" || d[0].Count != 1 ||
		len(d[0].RoutingKeys) != 1 || d[0].RoutingKeys[0] != "full" {
		t.Fatalf("deaths %+v", d)
	}

	// Dead-lettering into itself ends: the second refusal is a cycle.
	h.queue("loop", broker.StreamConfig{MaxLength: 1, Overflow: broker.OverflowRejectPublishDLX,
		Group: broker.GroupConfig{DeadLetter: &broker.DeadLetterTarget{}}})
	h.publish("", "loop", "kept", broker.PublishOptions{})
	if _, err := h.b.Publish("", "loop", broker.Message{Value: []byte("x")}, broker.PublishOptions{}); !errors.Is(err, broker.ErrQueueFull) {
		t.Fatalf("publish into a full self-dead-lettering queue: %v", err)
	}
}
