package broker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/clock"
)

type harness struct {
	t     *testing.T
	dir   string
	clock *clock.Fake
	b     *broker.Broker
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), clock: clock.NewFake(time.Unix(1_700_000_000, 0))}
	h.open()
	t.Cleanup(func() { h.b.Close() })
	return h
}

func (h *harness) open() {
	h.t.Helper()
	b, err := broker.Open(broker.Options{DataDir: h.dir, Clock: h.clock})
	if err != nil {
		h.t.Fatalf("Open: %v", err)
	}
	h.b = b
}

// restart closes the broker cleanly and opens it again on the same data.
func (h *harness) restart() {
	h.t.Helper()
	if err := h.b.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.open()
}

func (h *harness) queue(name string, cfg broker.StreamConfig) broker.Group {
	h.t.Helper()
	cfg.Kind = broker.KindQueue
	cfg.Durable = true
	if _, _, err := h.b.DeclareStream(name, cfg); err != nil {
		h.t.Fatalf("DeclareStream(%s): %v", name, err)
	}
	g, err := h.b.Queue(name)
	if err != nil {
		h.t.Fatal(err)
	}
	return g
}

func (h *harness) publish(exchange, key, body string, opts broker.PublishOptions) broker.Receipt {
	h.t.Helper()
	r, err := h.b.Publish(exchange, key, broker.Message{Value: []byte(body)}, opts)
	if err != nil {
		h.t.Fatalf("Publish: %v", err)
	}
	if err := r.Wait(context.Background()); err != nil {
		h.t.Fatalf("Wait: %v", err)
	}
	return r
}

func (h *harness) receive(g broker.Group, consumer string, max int, lease time.Duration) []broker.Delivered {
	h.t.Helper()
	ds, err := g.Receive(context.Background(), broker.ReceiveOptions{Consumer: consumer, Max: max, Lease: lease})
	if err != nil {
		h.t.Fatalf("Receive: %v", err)
	}
	return ds
}

func bodies(ds []broker.Delivered) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = string(d.Value)
	}
	return out
}

func ref(d broker.Delivered) broker.Ref { return broker.Ref{Partition: d.Partition, Offset: d.Offset} }

func expectBodies(t *testing.T, got []broker.Delivered, want ...string) {
	t.Helper()
	if fmt.Sprint(bodies(got)) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", bodies(got), want)
	}
}

func TestQueueDeliversInOrderAndAckSettles(t *testing.T) {
	h := newHarness(t)
	q := h.queue("work", broker.StreamConfig{})
	for i := 0; i < 5; i++ {
		h.publish("", "work", fmt.Sprint("m", i), broker.PublishOptions{})
	}
	ds := h.receive(q, "c1", 3, 0)
	expectBodies(t, ds, "m0", "m1", "m2")
	if ds[0].Count != 1 || ds[0].Redelivered {
		t.Fatalf("first delivery count=%d redelivered=%v", ds[0].Count, ds[0].Redelivered)
	}
	if n, _ := q.Ack(ref(ds[0]), ref(ds[1]), ref(ds[2])); n != 3 {
		t.Fatalf("Ack settled %d, want 3", n)
	}
	if n, _ := q.Ack(ref(ds[0])); n != 0 {
		t.Fatalf("second Ack of the same delivery settled %d, want 0", n)
	}
	expectBodies(t, h.receive(q, "c1", 10, 0), "m3", "m4")
	if got := h.receive(q, "c1", 10, 0); len(got) != 0 {
		t.Fatalf("empty queue delivered %q", bodies(got))
	}
}

func TestUnackedComeBackAfterConsumerLeavesAndAfterRestart(t *testing.T) {
	h := newHarness(t)
	q := h.queue("jobs", broker.StreamConfig{})
	h.publish("", "jobs", "a", broker.PublishOptions{})
	h.publish("", "jobs", "b", broker.PublishOptions{})
	ds := h.receive(q, "chan-1", 2, 0)
	q.Ack(ref(ds[1]))
	q.RemoveConsumer("chan-1")

	again := h.receive(q, "chan-2", 10, 0)
	expectBodies(t, again, "a")
	if !again[0].Redelivered || again[0].Count != 2 {
		t.Fatalf("redelivery count=%d redelivered=%v, want 2 true", again[0].Count, again[0].Redelivered)
	}

	h.restart()
	q, _ = h.b.Queue("jobs")
	after := h.receive(q, "chan-3", 10, 0)
	expectBodies(t, after, "a")
	if after[0].Count != 3 {
		t.Fatalf("count after restart = %d, want 3", after[0].Count)
	}
	q.Ack(ref(after[0]))
	if err := h.b.SyncState(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.restart()
	q, _ = h.b.Queue("jobs")
	if got := h.receive(q, "c", 10, 0); len(got) != 0 {
		t.Fatalf("settled messages came back after restart: %q", bodies(got))
	}
}

func TestRejectDeadLettersWithHistory(t *testing.T) {
	h := newHarness(t)
	if _, err := h.b.DeclareExchange(broker.ExchangeConfig{Name: "dlx", Kind: "fanout", Durable: true}); err != nil {
		t.Fatal(err)
	}
	dead := h.queue("dead", broker.StreamConfig{})
	if err := h.b.Bind(broker.BindingConfig{Exchange: "dlx", Destination: "dead"}); err != nil {
		t.Fatal(err)
	}
	q := h.queue("orders", broker.StreamConfig{Group: broker.GroupConfig{DeadLetter: &broker.DeadLetterTarget{Exchange: "dlx"}}})
	h.publish("", "orders", "bad", broker.PublishOptions{})
	ds := h.receive(q, "c", 1, 0)
	if n, _ := q.Reject(ref(ds[0])); n != 1 {
		t.Fatalf("Reject = %d", n)
	}
	got := h.receive(dead, "c", 1, 0)
	expectBodies(t, got, "bad")
	deaths := got[0].Deaths()
	if len(deaths) != 1 || deaths[0].Queue != "orders" || deaths[0].Reason != broker.ReasonRejected || deaths[0].Count != 1 {
		t.Fatalf("deaths = %+v", deaths)
	}
	if rk, _ := got[0].HeaderValue(broker.HeaderRoutingKey); string(rk) != "orders" {
		t.Fatalf("dead letter routing key %q, want the original key", rk)
	}
	if got := h.receive(q, "c", 1, 0); len(got) != 0 {
		t.Fatal("rejected message is still in its queue")
	}
}

func TestDeliveryLimitEndsPoisonLoop(t *testing.T) {
	h := newHarness(t)
	dead := h.queue("parking", broker.StreamConfig{})
	q := h.queue("poison", broker.StreamConfig{Group: broker.GroupConfig{
		DeliveryLimit: 3,
		DeadLetter:    &broker.DeadLetterTarget{Exchange: "", RoutingKey: "parking"},
	}})
	h.publish("", "poison", "boom", broker.PublishOptions{})
	for attempt := 1; attempt <= 3; attempt++ {
		ds := h.receive(q, "c", 1, 0)
		if len(ds) != 1 || ds[0].Count != attempt {
			t.Fatalf("attempt %d: got %d deliveries, count %v", attempt, len(ds), ds)
		}
		q.Release(0, ref(ds[0]))
	}
	if got := h.receive(q, "c", 1, 0); len(got) != 0 {
		t.Fatalf("delivered a 4th time: %q", bodies(got))
	}
	got := h.receive(dead, "c", 1, 0)
	expectBodies(t, got, "boom")
	if d := got[0].Deaths(); len(d) != 1 || d[0].Reason != broker.ReasonDeliveryLimit {
		t.Fatalf("deaths = %+v", d)
	}
}

func TestLeaseExpiryRedelivers(t *testing.T) {
	h := newHarness(t)
	q := h.queue("sqs", broker.StreamConfig{})
	h.publish("", "sqs", "x", broker.PublishOptions{})
	ds := h.receive(q, "r1", 1, 30*time.Second)
	if len(h.receive(q, "r2", 1, 30*time.Second)) != 0 {
		t.Fatal("leased message visible to another consumer")
	}
	if n, _ := q.ExtendLease(60*time.Second, ref(ds[0])); n != 1 {
		t.Fatal("ExtendLease found no delivery")
	}
	h.clock.Advance(59 * time.Second)
	if len(h.receive(q, "r2", 1, 30*time.Second)) != 0 {
		t.Fatal("visible before the extended lease ended")
	}
	h.clock.Advance(2 * time.Second)
	again := h.receive(q, "r2", 1, 30*time.Second)
	if len(again) != 1 || again[0].Count != 2 {
		t.Fatalf("after expiry got %v", again)
	}
	// A stale receipt (count 1) cannot settle the new delivery.
	if n, _ := q.Ack(broker.Ref{Partition: 0, Offset: ds[0].Offset, Count: 1}); n != 0 {
		t.Fatal("stale receipt settled a newer delivery")
	}
}

func TestLeaseDeadlineSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	q := h.queue("vis", broker.StreamConfig{})
	h.publish("", "vis", "x", broker.PublishOptions{})
	h.receive(q, "r1", 1, time.Minute)
	h.restart()
	q, _ = h.b.Queue("vis")
	if len(h.receive(q, "r2", 1, time.Minute)) != 0 {
		t.Fatal("in-flight message visible right after restart")
	}
	h.clock.Advance(61 * time.Second)
	if got := h.receive(q, "r2", 1, time.Minute); len(got) != 1 || got[0].Count != 2 {
		t.Fatalf("after the deadline got %v", got)
	}
}

func TestDelayedMessageWaitsAndSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	q := h.queue("later", broker.StreamConfig{})
	h.publish("", "later", "delayed", broker.PublishOptions{Delay: 10 * time.Second})
	h.publish("", "later", "now", broker.PublishOptions{})
	expectBodies(t, h.receive(q, "c", 10, time.Minute), "now")
	h.restart()
	q, _ = h.b.Queue("later")
	if got := h.receive(q, "c", 10, time.Minute); len(got) != 0 {
		t.Fatalf("delayed message early: %q", bodies(got))
	}
	h.clock.Advance(11 * time.Second)
	expectBodies(t, h.receive(q, "c", 10, time.Minute), "delayed")
}

func TestNackWithDelayRetriesLater(t *testing.T) {
	h := newHarness(t)
	q := h.queue("retry", broker.StreamConfig{})
	h.publish("", "retry", "r", broker.PublishOptions{})
	ds := h.receive(q, "c", 1, 0)
	q.Release(5*time.Second, ref(ds[0]))
	if len(h.receive(q, "c", 1, 0)) != 0 {
		t.Fatal("back-off ignored")
	}
	h.clock.Advance(5 * time.Second)
	if got := h.receive(q, "c", 1, 0); len(got) != 1 || got[0].Count != 2 {
		t.Fatalf("after back-off got %v", got)
	}
}

func TestTTLExpiresToDeadLetter(t *testing.T) {
	h := newHarness(t)
	dead := h.queue("expired", broker.StreamConfig{})
	q := h.queue("short", broker.StreamConfig{Group: broker.GroupConfig{
		MessageTTL: time.Minute,
		DeadLetter: &broker.DeadLetterTarget{RoutingKey: "expired"},
	}})
	h.publish("", "short", "queue-ttl", broker.PublishOptions{})
	h.publish("", "short", "msg-ttl", broker.PublishOptions{TTL: time.Second})
	h.publish("", "short", "fresh", broker.PublishOptions{})
	h.clock.Advance(2 * time.Second)
	expectBodies(t, h.receive(q, "c", 1, 0), "queue-ttl")
	expectBodies(t, h.receive(q, "c", 1, 0), "fresh")
	got := h.receive(dead, "c", 10, 0)
	expectBodies(t, got, "msg-ttl")
	if d := got[0].Deaths(); len(d) != 1 || d[0].Reason != broker.ReasonExpired {
		t.Fatalf("deaths %+v", d)
	}
	h.clock.Advance(2 * time.Minute)
	// queue-ttl is in flight; ack nothing, release it, and it must expire now.
	ds := q.Pending("c")
	q.Release(0, broker.Ref{Partition: ds[0].Partition, Offset: ds[0].Offset})
	if got := h.receive(q, "c", 10, 0); len(got) != 0 {
		t.Fatalf("expired message delivered: %q", bodies(got))
	}
}

func TestDedupWindow(t *testing.T) {
	h := newHarness(t)
	q := h.queue("once", broker.StreamConfig{DedupWindow: 5 * time.Minute})
	msg := broker.Message{Value: []byte("pay"), Headers: []broker.Header{{Key: broker.HeaderMessageID, Value: []byte("id-1")}}}
	for i := 0; i < 3; i++ {
		r, err := h.b.Publish("", "once", msg, broker.PublishOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if (i > 0) != r.Duplicate {
			t.Fatalf("publish %d duplicate=%v", i, r.Duplicate)
		}
		r.Wait(context.Background())
	}
	h.restart()
	if r, _ := h.b.Publish("", "once", msg, broker.PublishOptions{}); !r.Duplicate {
		t.Fatal("dedup forgot the id across a restart")
	}
	h.clock.Advance(6 * time.Minute)
	r, _ := h.b.Publish("", "once", msg, broker.PublishOptions{})
	if r.Duplicate {
		t.Fatal("dedup outlived its window")
	}
	r.Wait(context.Background())
	q, _ = h.b.Queue("once")
	if got := h.receive(q, "c", 10, 0); len(got) != 2 {
		t.Fatalf("got %d messages, want 2", len(got))
	}
}

func TestMaxLengthOverflow(t *testing.T) {
	h := newHarness(t)
	q := h.queue("capped", broker.StreamConfig{MaxLength: 2})
	for _, m := range []string{"1", "2", "3"} {
		h.publish("", "capped", m, broker.PublishOptions{})
	}
	expectBodies(t, h.receive(q, "c", 10, 0), "2", "3")

	h.queue("strict", broker.StreamConfig{MaxLength: 1, Overflow: broker.OverflowRejectPublish})
	h.publish("", "strict", "a", broker.PublishOptions{})
	if _, err := h.b.Publish("", "strict", broker.Message{Value: []byte("b")}, broker.PublishOptions{}); !errors.Is(err, broker.ErrQueueFull) {
		t.Fatalf("publish to a full reject-publish queue: %v", err)
	}
}

func TestMessageSizeLimit(t *testing.T) {
	h := newHarness(t)
	h.queue("q", broker.StreamConfig{})
	big := make([]byte, broker.DefaultMaxMessageBytes+1)
	if _, err := h.b.Publish("", "q", broker.Message{Value: big}, broker.PublishOptions{}); !errors.Is(err, broker.ErrMessageTooLarge) {
		t.Fatalf("oversize publish: %v", err)
	}
}

func TestTopicAndFanoutRoutingSurviveRestart(t *testing.T) {
	h := newHarness(t)
	h.b.DeclareExchange(broker.ExchangeConfig{Name: "events", Kind: "topic", Durable: true})
	h.b.DeclareExchange(broker.ExchangeConfig{Name: "all", Kind: "fanout", Durable: true})
	h.queue("eu", broker.StreamConfig{})
	h.queue("audit", broker.StreamConfig{})
	h.b.Bind(broker.BindingConfig{Exchange: "events", Destination: "eu", Key: "order.eu.*"})
	h.b.Bind(broker.BindingConfig{Exchange: "events", Destination: "all", ToExchange: true, Key: "#"})
	h.b.Bind(broker.BindingConfig{Exchange: "all", Destination: "audit"})
	h.restart()
	if r := h.publish("events", "order.eu.created", "1", broker.PublishOptions{}); r.Routed != 2 {
		t.Fatalf("routed to %d streams, want 2", r.Routed)
	}
	if r := h.publish("events", "order.us.created", "2", broker.PublishOptions{}); r.Routed != 1 {
		t.Fatalf("routed to %d streams, want 1", r.Routed)
	}
	eu, _ := h.b.Queue("eu")
	audit, _ := h.b.Queue("audit")
	expectBodies(t, h.receive(eu, "c", 10, 0), "1")
	expectBodies(t, h.receive(audit, "c", 10, 0), "1", "2")
	if r, err := h.b.Publish("", "nowhere", broker.Message{}, broker.PublishOptions{}); err != nil || r.Routed != 0 {
		t.Fatalf("unroutable publish: routed %d err %v", r.Routed, err)
	}
}

func TestSingleActiveConsumer(t *testing.T) {
	h := newHarness(t)
	q := h.queue("sac", broker.StreamConfig{Group: broker.GroupConfig{SingleActiveConsumer: true}})
	q.AddConsumer("first")
	q.AddConsumer("second")
	h.publish("", "sac", "m", broker.PublishOptions{})
	if len(h.receive(q, "second", 1, 0)) != 0 {
		t.Fatal("inactive consumer received")
	}
	ds := h.receive(q, "first", 1, 0)
	if len(ds) != 1 {
		t.Fatal("active consumer got nothing")
	}
	q.RemoveConsumer("first")
	if got := h.receive(q, "second", 1, 0); len(got) != 1 || !got[0].Redelivered {
		t.Fatalf("after fail-over got %v", got)
	}
}

func TestOrderByKeyHoldsAGroupWhileInFlight(t *testing.T) {
	h := newHarness(t)
	q := h.queue("fifo", broker.StreamConfig{Group: broker.GroupConfig{OrderByKey: true}})
	for _, m := range []struct{ key, body string }{{"g1", "a1"}, {"g1", "a2"}, {"g2", "b1"}} {
		r, err := h.b.Publish("", "fifo", broker.Message{Key: []byte(m.key), Value: []byte(m.body)}, broker.PublishOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r.Wait(context.Background())
	}
	first := h.receive(q, "c", 10, time.Minute)
	expectBodies(t, first, "a1", "b1")
	q.Release(0, ref(first[0]))
	expectBodies(t, h.receive(q, "c", 10, time.Minute), "a1")
	for _, d := range q.Pending("") {
		q.Ack(d.Ref())
	}
	expectBodies(t, h.receive(q, "c", 10, time.Minute), "a2")
}

func TestCursorOffsetsSurviveRestart(t *testing.T) {
	h := newHarness(t)
	if _, _, err := h.b.DeclareStream("clicks", broker.StreamConfig{Kind: broker.KindTopic, Partitions: 3, Durable: true}); err != nil {
		t.Fatal(err)
	}
	if err := h.b.CommitOffset("analytics", "clicks", 2, broker.CommittedOffset{Offset: 42, Metadata: "m"}); err != nil {
		t.Fatal(err)
	}
	if err := h.b.SyncState(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.restart()
	got, ok := h.b.CommittedOffset("analytics", "clicks", 2)
	if !ok || got.Offset != 42 || got.Metadata != "m" {
		t.Fatalf("committed offset after restart = %+v %v", got, ok)
	}
}

// A deleted offset stays deleted: the first restart replays the journal's
// delete-offset change, the second reads the checkpoint the first wrote.
func TestDeletedOffsetStaysDeletedAcrossRestarts(t *testing.T) {
	h := newHarness(t)
	if _, _, err := h.b.DeclareStream("views", broker.StreamConfig{Kind: broker.KindTopic, Partitions: 2, Durable: true}); err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 2; p++ {
		if err := h.b.CommitOffset("analytics", "views", p, broker.CommittedOffset{Offset: 10 + int64(p)}); err != nil {
			t.Fatal(err)
		}
	}
	if !h.b.DeleteOffset("analytics", "views", 1) {
		t.Fatal("DeleteOffset found no offset to delete")
	}
	if h.b.DeleteOffset("analytics", "views", 1) {
		t.Fatal("DeleteOffset deleted the same offset twice")
	}
	if err := h.b.SyncState(context.Background()); err != nil {
		t.Fatal(err)
	}
	for restart := 1; restart <= 2; restart++ {
		h.restart()
		if got, ok := h.b.CommittedOffset("analytics", "views", 0); !ok || got.Offset != 10 {
			t.Fatalf("restart %d: partition 0 = %+v %v, want 10", restart, got, ok)
		}
		if got, ok := h.b.CommittedOffset("analytics", "views", 1); ok {
			t.Fatalf("restart %d: the deleted offset came back as %+v", restart, got)
		}
	}
}

func TestRedeclareWithDifferentConfigFails(t *testing.T) {
	h := newHarness(t)
	h.queue("q", broker.StreamConfig{})
	if _, _, err := h.b.DeclareStream("q", broker.StreamConfig{Kind: broker.KindQueue, Durable: true, MaxLength: 5}); !errors.Is(err, broker.ErrExists) {
		t.Fatalf("redeclare with other settings: %v", err)
	}
	if _, created, err := h.b.DeclareStream("q", broker.StreamConfig{Kind: broker.KindQueue, Durable: true}); err != nil || created {
		t.Fatalf("equivalent redeclare: created=%v err=%v", created, err)
	}
}

func TestTransientAndExclusiveStreamsGoAtRestart(t *testing.T) {
	h := newHarness(t)
	h.b.DeclareStream("temp", broker.StreamConfig{Kind: broker.KindQueue})
	h.b.DeclareStream("mine", broker.StreamConfig{Kind: broker.KindQueue, Durable: true, Owner: "conn-1"})
	h.restart()
	for _, name := range []string{"temp", "mine"} {
		if _, err := h.b.Stream(name); !errors.Is(err, broker.ErrNotFound) {
			t.Fatalf("%s after restart: %v", name, err)
		}
	}
}

func TestRedisStyleGroupKeepsPendingAcrossRestart(t *testing.T) {
	h := newHarness(t)
	h.b.DeclareStream("events", broker.StreamConfig{Kind: broker.KindTopic, Durable: true})
	g, err := h.b.CreateGroup("events", "workers", broker.GroupConfig{}, broker.StartAtBegin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.b.CreateGroup("events", "workers", broker.GroupConfig{}, broker.StartAtBegin); !errors.Is(err, broker.ErrExists) {
		t.Fatalf("second CreateGroup: %v", err)
	}
	r, _ := h.b.Append("events", 0, []broker.Message{{Value: []byte("e1")}, {Value: []byte("e2")}}, broker.PublishOptions{})
	r.Wait(context.Background())
	ds, _ := g.Receive(context.Background(), broker.ReceiveOptions{Consumer: "alice", Max: 10, Persistent: true})
	expectBodies(t, ds, "e1", "e2")
	g.Ack(ref(ds[0]))
	g.RemoveConsumer("alice") // persistent entries stay with alice
	h.b.SyncState(context.Background())
	h.restart()
	g, _ = h.b.Group("events", "workers")
	pending := g.Pending("alice")
	if len(pending) != 1 || pending[0].Offset != ds[1].Offset || pending[0].Count != 1 {
		t.Fatalf("pending after restart = %+v", pending)
	}
	if got, _ := g.Receive(context.Background(), broker.ReceiveOptions{Consumer: "bob", Max: 10, Persistent: true}); len(got) != 0 {
		t.Fatalf("bob got %q; pending entries must not be redelivered automatically", bodies(got))
	}
}

func TestReceiveWaitWakesOnPublish(t *testing.T) {
	h := newHarness(t)
	q := h.queue("wait", broker.StreamConfig{})
	got := make(chan []broker.Delivered, 1)
	go func() {
		ds, _ := q.Receive(context.Background(), broker.ReceiveOptions{Consumer: "c", Max: 1, Wait: true})
		got <- ds
	}()
	h.publish("", "wait", "wake", broker.PublishOptions{})
	select {
	case ds := <-got:
		expectBodies(t, ds, "wake")
	case <-time.After(10 * time.Second):
		t.Fatal("waiting receiver never woke")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := q.Receive(ctx, broker.ReceiveOptions{Consumer: "c", Wait: true}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
}

func TestPurgeSparesInFlightAndSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	q := h.queue("purge", broker.StreamConfig{})
	for i := 0; i < 5; i++ {
		h.publish("", "purge", fmt.Sprint("m", i), broker.PublishOptions{})
	}
	inFlight := h.receive(q, "c", 2, 0)
	expectBodies(t, inFlight, "m0", "m1")
	n, err := q.Purge()
	if err != nil || n != 3 {
		t.Fatalf("Purge = %d, %v; want 3", n, err)
	}
	if got := h.receive(q, "c", 10, 0); len(got) != 0 {
		t.Fatalf("purged messages delivered: %q", bodies(got))
	}
	h.publish("", "purge", "after", broker.PublishOptions{})
	q.Ack(ref(inFlight[0]))
	h.b.SyncState(context.Background())

	// The purge is replayed from the journal: m1 (in flight, bound to its
	// consumer) comes back, m2-m4 stay gone, "after" is still there.
	h.restart()
	q, _ = h.b.Queue("purge")
	expectBodies(t, h.receive(q, "c", 10, 0), "m1", "after")
}
