package broker_test

import (
	"errors"
	"testing"

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

	// Acked records stop counting: 7 bytes are in flight, 3 more fit only
	// once cccc is acked.
	if _, err := q.Ack(ref(got[0])); err != nil {
		t.Fatal(err)
	}
	h.publish("", "bytes", "eeeeee", broker.PublishOptions{}) // 3 + 6 = 9
	q.Release(0, ref(got[1]))
	expectBodies(t, h.receive(q, "c", 10, 0), "ddd", "eeeeee")
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
