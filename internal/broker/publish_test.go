package broker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
)

// A drop-head queue that dead-letters into itself must neither deadlock
// (dead-lettering publishes back into the queue being appended to) nor loop
// forever: the second trip round the cycle drops the message, as RabbitMQ does.
func TestDropHeadDeadLetterCycleTerminates(t *testing.T) {
	h := newHarness(t)
	q := h.queue("loop", broker.StreamConfig{MaxLength: 1, Group: broker.GroupConfig{
		DeadLetter: &broker.DeadLetterTarget{RoutingKey: "loop"},
	}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.publish("", "loop", "a", broker.PublishOptions{})
		h.publish("", "loop", "b", broker.PublishOptions{})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("publishing to a queue that dead-letters into itself deadlocked")
	}
	got := h.receive(q, "c", 10, 0)
	expectBodies(t, got, "b")
	if d := got[0].Deaths(); len(d) != 1 || d[0].Queue != "loop" || d[0].Reason != broker.ReasonMaxLength {
		t.Fatalf("survivor's history = %+v, want one maxlen death in loop", d)
	}
}

// The article's retry pattern: reject to a retry queue whose TTL sends the
// message back. A rejection in the history means it is not a cycle.
func TestRejectThenExpireBackIsNotACycle(t *testing.T) {
	h := newHarness(t)
	work := h.queue("work", broker.StreamConfig{Group: broker.GroupConfig{
		DeadLetter: &broker.DeadLetterTarget{RoutingKey: "work.retry"},
	}})
	h.queue("work.retry", broker.StreamConfig{Group: broker.GroupConfig{
		MessageTTL: time.Second,
		DeadLetter: &broker.DeadLetterTarget{RoutingKey: "work"},
	}})
	retry, _ := h.b.Queue("work.retry")
	h.publish("", "work", "job", broker.PublishOptions{})
	for round := 1; round <= 3; round++ {
		ds := h.receive(work, "c", 1, 0)
		if len(ds) != 1 {
			t.Fatalf("round %d: job did not come back to work", round)
		}
		work.Reject(ref(ds[0]))
		h.clock.Advance(2 * time.Second)
		if got := h.receive(retry, "c", 1, 0); len(got) != 0 { // expires on the way out
			t.Fatalf("round %d: expired message delivered from the retry queue", round)
		}
	}
}

// A message refused by a full queue was never stored, so the dedup window
// must let its retry in rather than confirm it as a duplicate and lose it.
func TestRefusedPublishDoesNotPoisonDedup(t *testing.T) {
	h := newHarness(t)
	q := h.queue("strict", broker.StreamConfig{MaxLength: 1, Overflow: broker.OverflowRejectPublish, DedupWindow: time.Minute})
	withID := func(id string) broker.Message {
		return broker.Message{Value: []byte(id), Headers: []broker.Header{{Key: broker.HeaderMessageID, Value: []byte(id)}}}
	}
	r, err := h.b.Publish("", "strict", withID("one"), broker.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.Wait(context.Background())
	if _, err := h.b.Publish("", "strict", withID("two"), broker.PublishOptions{}); !errors.Is(err, broker.ErrQueueFull) {
		t.Fatalf("publish to the full queue: %v", err)
	}
	ds := h.receive(q, "c", 1, 0)
	q.Ack(ref(ds[0]))
	r, err = h.b.Publish("", "strict", withID("two"), broker.PublishOptions{})
	if err != nil || r.Duplicate {
		t.Fatalf("retry of the refused message: duplicate=%v err=%v", r.Duplicate, err)
	}
	r.Wait(context.Background())
	expectBodies(t, h.receive(q, "c", 1, 0), "two")
}

// Append with partition -1 places every message by its own key.
func TestAppendPlacesEachMessageByItsKey(t *testing.T) {
	h := newHarness(t)
	if _, _, err := h.b.DeclareStream("keyed", broker.StreamConfig{Kind: broker.KindTopic, Partitions: 4, Durable: true}); err != nil {
		t.Fatal(err)
	}
	home := map[string]int32{}
	var msgs []broker.Message
	for i := 0; i < 12; i++ {
		key := fmt.Sprint("key-", i)
		r, err := h.b.Append("keyed", -1, []broker.Message{{Key: []byte(key), Value: []byte("single")}}, broker.PublishOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r.Wait(context.Background())
		home[key] = r.Partition
		msgs = append(msgs, broker.Message{Key: []byte(key), Value: []byte("batched")})
	}
	if len(distinct(home)) < 2 {
		t.Fatalf("12 keys all hashed to one partition: %v", home)
	}
	r, err := h.b.Append("keyed", -1, msgs, broker.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	batched := 0
	for p := int32(0); p < 4; p++ {
		part, _ := h.b.Partition("keyed", p)
		recs, err := part.Read(0, 1<<20, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if string(rec.Value) != "batched" {
				continue
			}
			batched++
			if want := home[string(rec.Key)]; p != want {
				t.Fatalf("batched %s landed on partition %d, its key lives on %d", rec.Key, p, want)
			}
		}
	}
	if batched != 12 {
		t.Fatalf("found %d batched records, want 12", batched)
	}
}

func distinct(m map[string]int32) map[int32]bool {
	out := map[int32]bool{}
	for _, v := range m {
		out[v] = true
	}
	return out
}
