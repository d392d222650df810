package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gannet-mq/gannet/internal/broker"
)

// TestOtherProtocolsShareStreams: a queue declared and published to through
// the core (as AMQP and SQS do) is a Redis stream, and an entry written by
// XADD is a core message whose headers are its fields.
func TestOtherProtocolsShareStreams(t *testing.T) {
	ts := startServer(t, "")
	b := ts.broker
	if _, _, err := b.DeclareStream("jobs", broker.StreamConfig{Kind: broker.KindQueue, Durable: true}); err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1700000000000)
	for _, body := range []string{"first", "second"} {
		r, err := b.Append("jobs", 0, []broker.Message{{Value: []byte(body), Timestamp: at,
			Headers: []broker.Header{{Key: "content-type", Value: []byte("text/plain")}}}}, broker.PublishOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r.Wait(context.Background())
	}
	c := ts.client(2)
	msgs := c.XRange(ctx, "jobs", "-", "+").Val()
	if ids(msgs) != "1700000000000-0 1700000000000-1" || msgs[0].Values["body"] != "first" || msgs[1].Values["content-type"] != "text/plain" {
		t.Fatalf("XRANGE of a queue = %+v", msgs)
	}
	if got := ids(c.XRange(ctx, "jobs", "1700000000000-1", "+").Val()); got != "1700000000000-1" {
		t.Fatalf("seek to a derived id = %s", got)
	}
	id := c.XAdd(ctx, &redis.XAddArgs{Stream: "jobs", Values: []string{"orderId", "7"}}).Val()
	if ms, _, _ := strings.Cut(id, "-"); ms <= "1700000000000" {
		t.Fatalf("XADD after foreign records got %s", id)
	}
	// The queue's own consumers (AMQP, SQS) receive the XADD entry.
	q, err := b.Queue("jobs")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := q.Receive(context.Background(), broker.ReceiveOptions{Consumer: "amqp", Max: 10})
	if err != nil || len(ds) != 3 {
		t.Fatalf("queue receive = %d, %v", len(ds), err)
	}
	if v, _ := ds[2].HeaderValue("orderId"); string(v) != "7" {
		t.Fatalf("XADD fields as headers = %+v", ds[2].Headers)
	}
	if v, _ := ds[2].HeaderValue(broker.HeaderStreamEntryID); string(v) != id {
		t.Fatalf("entry id header = %q, want %q", v, id)
	}
}
