package broker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
)

func TestMaxLengthBytesDropsHeadAndSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	h.queue("bytes", broker.StreamConfig{MaxLengthBytes: 10})
	for _, m := range []string{"aaaa", "bbbb", "cccc"} {
		h.publish("", "bytes", m, broker.PublishOptions{})
	}
	// 12 body bytes do not fit in 10: the oldest goes.
	h.restart()
	// After the restart the queue holds bbbb and cccc (8 bytes); 3 more
	// push bbbb out, which only a correct recount after recovery does.
	h.publish("", "bytes", "ddd", broker.PublishOptions{})
	q, _ := h.b.Queue("bytes")
	got := h.receive(q, "c", 10, 0)
	expectBodies(t, got, "cccc", "ddd")

	// Acked records stop counting: with cccc acked and ddd in flight, ff
	// and eeeee fit (3 + 2 + 5 = 10); were cccc still counted, ff, the
	// oldest record not in flight, would be dropped to make room.
	if n, err := q.Ack(ref(got[0])); n != 1 || err != nil {
		t.Fatalf("Ack = %d, %v", n, err)
	}
	h.publish("", "bytes", "ff", broker.PublishOptions{})
	h.publish("", "bytes", "eeeee", broker.PublishOptions{})
	q.Release(0, ref(got[1]))
	expectBodies(t, h.receive(q, "c", 10, 0), "ddd", "ff", "eeeee")
}

func TestMaxLengthBytesRejectPublishAndPurge(t *testing.T) {
	h := newHarness(t)
	q := h.queue("strict", broker.StreamConfig{MaxLengthBytes: 5, Overflow: broker.OverflowRejectPublish})
	h.publish("", "strict", "abc", broker.PublishOptions{})
	if _, err := h.b.Publish("", "strict", broker.Message{Value: []byte("def")}, broker.PublishOptions{}); !errors.Is(err, broker.ErrQueueFull) {
		t.Fatalf("publish past max-length-bytes with reject-publish: %v", err)
	}
	if n, err := q.Purge(); n != 1 || err != nil {
		t.Fatalf("Purge = %d, %v", n, err)
	}
	h.publish("", "strict", "defgh", broker.PublishOptions{}) // fits only if the purge freed its bytes
	expectBodies(t, h.receive(q, "c", 10, 0), "defgh")
}

func TestExpiresDeletesAnUnusedQueue(t *testing.T) {
	h := newHarness(t)
	cfg := broker.StreamConfig{Expires: 10 * time.Second}
	exists := func() bool {
		_, err := h.b.Stream("idle")
		return err == nil
	}
	h.queue("idle", cfg)
	h.clock.Advance(6 * time.Second)
	h.publish("", "idle", "publishing is not use", broker.PublishOptions{})
	h.queue("idle", cfg) // a redeclaration is use: the period starts again
	h.clock.Advance(6 * time.Second)
	if !exists() {
		t.Fatal("deleted 6s after a redeclaration, want 10s")
	}
	q, _ := h.b.Queue("idle")
	h.receive(q, "c", 1, 0) // a receive (basic.get) is use
	q.AddConsumer("c")
	h.clock.Advance(30 * time.Second)
	if !exists() {
		t.Fatal("deleted while it had a consumer")
	}
	q.RemoveConsumer("c")
	h.clock.Advance(9 * time.Second)
	if !exists() {
		t.Fatal("deleted 9s after its consumer left, want 10s")
	}
	h.clock.Advance(2 * time.Second)
	if exists() {
		t.Fatal("an unused queue outlived x-expires")
	}
	// A new queue of the same name is not touched by the old timer.
	h.queue("idle", broker.StreamConfig{})
	h.clock.Advance(time.Minute)
	if !exists() {
		t.Fatal("a queue without Expires was deleted")
	}
}

func TestExpiresStartsAgainAfterRestart(t *testing.T) {
	h := newHarness(t)
	h.queue("idle", broker.StreamConfig{Expires: 10 * time.Second})
	h.clock.Advance(8 * time.Second)
	h.restart()
	h.clock.Advance(8 * time.Second)
	if _, err := h.b.Stream("idle"); err != nil {
		t.Fatalf("deleted 8s after a restart: %v", err)
	}
	h.clock.Advance(3 * time.Second)
	if _, err := h.b.Stream("idle"); !errors.Is(err, broker.ErrNotFound) {
		t.Fatalf("Stream after expiry: %v, want not found", err)
	}
}

func TestExpiresRemovedByUpdateStreamKeepsTheQueue(t *testing.T) {
	h := newHarness(t)
	h.queue("idle", broker.StreamConfig{Expires: 10 * time.Second})
	if _, err := h.b.UpdateStream("idle", func(c *broker.StreamConfig) error { c.Expires = 0; return nil }); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	if _, err := h.b.Stream("idle"); err != nil {
		t.Fatalf("a queue whose Expires was removed was deleted: %v", err)
	}
}

func TestPriorityQueueDeliversHigherLevelsFirst(t *testing.T) {
	h := newHarness(t)
	q := h.queue("jobs", broker.StreamConfig{MaxPriority: 5})
	publish := func(body, priority string) {
		msg := broker.Message{Value: []byte(body)}
		if priority != "" {
			msg.Headers = []broker.Header{{Key: broker.HeaderPriority, Value: []byte(priority)}}
		}
		r, err := h.b.Publish("", "jobs", msg, broker.PublishOptions{})
		if err != nil || r.Routed != 1 {
			t.Fatalf("Publish %s: %+v %v", body, r, err)
		}
		if err := r.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	publish("none", "")
	publish("low", "0")
	publish("high", "5")
	publish("capped", "9") // above the maximum counts as the maximum
	publish("mid", "3")
	h.restart()
	q, _ = h.b.Queue("jobs")
	first := h.receive(q, "c", 1, 0)
	expectBodies(t, first, "high")
	publish("urgent", "4")
	expectBodies(t, h.receive(q, "c", 10, 0), "capped", "urgent", "mid", "none", "low")

	if _, _, err := h.b.DeclareStream("bad", broker.StreamConfig{Kind: broker.KindQueue, MaxPriority: 256}); err == nil {
		t.Fatal("MaxPriority 256 accepted")
	}
}

func TestFullQueueInAFanOutDoesNotStopTheOthers(t *testing.T) {
	h := newHarness(t)
	h.b.DeclareExchange(broker.ExchangeConfig{Name: "fan", Kind: "fanout", Durable: true})
	full := h.queue("a-full", broker.StreamConfig{MaxLength: 1, Overflow: broker.OverflowRejectPublish})
	open := h.queue("b-open", broker.StreamConfig{})
	h.publish("", "a-full", "first", broker.PublishOptions{})
	for _, q := range []string{"a-full", "b-open"} {
		if err := h.b.Bind(broker.BindingConfig{Exchange: "fan", Destination: q}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := h.b.Publish("fan", "", broker.Message{Value: []byte("second")}, broker.PublishOptions{})
	if !errors.Is(err, broker.ErrQueueFull) || r.Routed != 1 {
		t.Fatalf("Publish to a fan-out with a full queue: routed %d, %v; want 1 and ErrQueueFull", r.Routed, err)
	}
	if got := r.Streams(); len(got) != 1 || got[0] != "b-open" {
		t.Fatalf("Receipt.Streams() = %q, want only the queue that took the message", got)
	}
	if err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	expectBodies(t, h.receive(open, "c", 10, 0), "second")
	expectBodies(t, h.receive(full, "c", 10, 0), "first")
}
