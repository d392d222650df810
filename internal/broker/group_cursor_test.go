package broker_test

import (
	"context"
	"testing"

	"github.com/gannet-mq/gannet/internal/broker"
)

// receivedEvents declares topic events with a group workers reading from
// the start, appends e1, e2 and e3, and has consumer a receive them,
// persistent (Redis-style: a restart keeps them pending).
func receivedEvents(t *testing.T, h *harness) (broker.Group, []broker.Delivered) {
	t.Helper()
	if _, _, err := h.b.DeclareStream("events", broker.StreamConfig{Kind: broker.KindTopic, Durable: true}); err != nil {
		t.Fatal(err)
	}
	g, err := h.b.CreateGroup("events", "workers", broker.GroupConfig{}, broker.StartAtBegin)
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.b.Append("events", 0, []broker.Message{{Value: []byte("e1")}, {Value: []byte("e2")}, {Value: []byte("e3")}}, broker.PublishOptions{})
	if err == nil {
		err = r.Wait(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
	ds, err := g.Receive(context.Background(), broker.ReceiveOptions{Consumer: "a", Max: 10, Persistent: true})
	if err != nil {
		t.Fatal(err)
	}
	expectBodies(t, ds, "e1", "e2", "e3")
	return g, ds
}

// Moving a shared group's cursor back below what it has settled (Redis
// XGROUP SETID to an earlier id) hands those records out again, and still
// does after a restart.
func TestMoveNextBackRedeliversAcrossRestart(t *testing.T) {
	h := newHarness(t)
	g, ds := receivedEvents(t, h)
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

// Moving the cursor back to or past a record still pending (Redis XGROUP
// SETID while an entry is unacknowledged) must still hand out the acked
// records from the new position on, as the floor cannot move past the
// pending one; and still after a restart. The pending record stays with
// its consumer.
func TestMoveNextBackOverPendingUnsettlesLaterRecords(t *testing.T) {
	for _, back := range []int{0, 1} { // to the pending record, and past it
		h := newHarness(t)
		g, ds := receivedEvents(t, h)
		if n, _ := g.Ack(ref(ds[1]), ref(ds[2])); n != 2 { // e1 stays pending
			t.Fatalf("acked %d", n)
		}
		if err := g.MoveNext(0, ds[back].Offset); err != nil {
			t.Fatal(err)
		}
		for _, restart := range []bool{false, true} {
			if restart {
				if err := h.b.SyncState(context.Background()); err != nil {
					t.Fatal(err)
				}
				h.restart()
				g, _ = h.b.Group("events", "workers")
			}
			if g.IsSettled(0, ds[1].Offset) || g.IsSettled(0, ds[2].Offset) {
				t.Fatalf("back to e%d, restart %v: e2 or e3 still settled", back+1, restart)
			}
			if p := g.Pending(""); len(p) != 1 || p[0].Offset != ds[0].Offset || p[0].Consumer != "a" {
				t.Fatalf("back to e%d, restart %v: pending %+v, want e1 with a", back+1, restart, p)
			}
		}
		got, _ := g.Receive(context.Background(), broker.ReceiveOptions{Consumer: "b", Max: 10, Persistent: true})
		expectBodies(t, got, "e2", "e3")
	}
}
