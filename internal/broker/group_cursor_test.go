package broker_test

import (
	"context"
	"testing"

	"github.com/gannet-mq/gannet/internal/broker"
)

// Moving a shared group's cursor back below what it has settled (Redis
// XGROUP SETID to an earlier id) hands those records out again, and still
// does after a restart.
func TestMoveNextBackRedeliversAcrossRestart(t *testing.T) {
	h := newHarness(t)
	h.b.DeclareStream("events", broker.StreamConfig{Kind: broker.KindTopic, Durable: true})
	g, err := h.b.CreateGroup("events", "workers", broker.GroupConfig{}, broker.StartAtBegin)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := h.b.Append("events", 0, []broker.Message{{Value: []byte("e1")}, {Value: []byte("e2")}, {Value: []byte("e3")}}, broker.PublishOptions{})
	r.Wait(context.Background())
	ds, _ := g.Receive(context.Background(), broker.ReceiveOptions{Consumer: "a", Max: 10, Persistent: true})
	expectBodies(t, ds, "e1", "e2", "e3")
	if n, _ := g.Ack(ref(ds[0]), ref(ds[1]), ref(ds[2])); n != 3 {
		t.Fatalf("acked %d", n)
	}
	if err := g.MoveNext(0, ds[1].Offset); err != nil {
		t.Fatal(err)
	}
	if err := h.b.SyncState(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.restart()
	g, _ = h.b.Group("events", "workers")
	if next := g.Next(0); next != ds[1].Offset {
		t.Fatalf("Next after restart = %d, want %d", next, ds[1].Offset)
	}
	got, _ := g.Receive(context.Background(), broker.ReceiveOptions{Consumer: "a", Max: 10, Persistent: true})
	expectBodies(t, got, "e2", "e3")
}
