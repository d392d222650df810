package broker_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/storage"
)

func appendTo(t *testing.T, b *broker.Broker, stream string, part int32, values ...string) {
	t.Helper()
	msgs := make([]broker.Message, len(values))
	for i, v := range values {
		msgs[i] = broker.Message{Value: []byte(v)}
	}
	r, err := b.Append(stream, part, msgs, broker.PublishOptions{})
	if err != nil {
		t.Fatalf("Append(%s, %d): %v", stream, part, err)
	}
	if err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func sortedBodies(ds []broker.Delivered) []string {
	out := bodies(ds)
	sort.Strings(out)
	return out
}

func TestAddPartitionsGrowsATopicWithItsGroups(t *testing.T) {
	h := newHarness(t)
	if _, _, err := h.b.DeclareStream("orders", broker.StreamConfig{Kind: broker.KindTopic, Partitions: 2, Durable: true}); err != nil {
		t.Fatal(err)
	}
	g, err := h.b.CreateGroup("orders", "billing", broker.GroupConfig{}, broker.StartAtBegin)
	if err != nil {
		t.Fatal(err)
	}
	appendTo(t, h.b, "orders", 0, "a0")
	appendTo(t, h.b, "orders", 1, "a1")
	ds := h.receive(g, "c", 10, 0)
	if got := fmt.Sprint(sortedBodies(ds)); got != "[a0 a1]" {
		t.Fatalf("before growth: %s", got)
	}
	g.Ack(ref(ds[0]), ref(ds[1]))

	// A receiver waiting before the growth must wake for a record in a new partition.
	woke := make(chan []broker.Delivered, 1)
	go func() {
		ds, _ := g.Receive(context.Background(), broker.ReceiveOptions{Consumer: "w", Max: 1, Wait: true})
		woke <- ds
	}()

	if err := h.b.AddPartitions("orders", 4); err != nil {
		t.Fatalf("AddPartitions: %v", err)
	}
	info, _ := h.b.Stream("orders")
	if info.Config.Partitions != 4 {
		t.Fatalf("partitions after growth = %d", info.Config.Partitions)
	}
	for i := int32(2); i < 4; i++ {
		p, err := h.b.Partition("orders", i)
		if err != nil || p.StartOffset() != 0 || p.EndOffset() != 0 {
			t.Fatalf("new partition %d: err=%v start/end=%d/%d", i, err, p.StartOffset(), p.EndOffset())
		}
	}
	appendTo(t, h.b, "orders", 3, "b3")
	select {
	case ds := <-woke:
		expectBodies(t, ds, "b3")
		if ds[0].Partition != 3 || ds[0].Offset != 0 {
			t.Fatalf("woken delivery at %d/%d", ds[0].Partition, ds[0].Offset)
		}
		g.Ack(ref(ds[0]))
	case <-time.After(10 * time.Second):
		t.Fatal("a receiver waiting across the growth never saw the new partition")
	}

	appendTo(t, h.b, "orders", 2, "b2", "c2")
	appendTo(t, h.b, "orders", 3, "c3")
	ds = h.receive(g, "c", 10, 0)
	if got := fmt.Sprint(sortedBodies(ds)); got != "[b2 c2 c3]" {
		t.Fatalf("after growth: %s", got)
	}
	for _, d := range ds {
		if string(d.Value) != "c2" {
			g.Ack(ref(d))
		}
	}
	// Keyed messages now spread over four partitions.
	seen := map[int32]bool{}
	for i := 0; i < 64; i++ {
		r, err := h.b.Append("orders", -1, []broker.Message{{Key: []byte(fmt.Sprint("k", i)), Value: []byte("k")}}, broker.PublishOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r.Wait(context.Background())
		seen[r.Partition] = true
	}
	if len(seen) != 4 {
		t.Fatalf("keys landed on partitions %v", seen)
	}
	if st := h.b.Stats(); len(st.Streams) != 1 || st.Streams[0].Partitions != 4 {
		t.Fatalf("stats: %+v", st.Streams)
	}
	if err := h.b.SyncState(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Twice: the first recovery replays the journal record, the second
	// reads the checkpoint the first one wrote.
	for round := 0; round < 2; round++ {
		h.restart()
		info, err := h.b.Stream("orders")
		if err != nil || info.Config.Partitions != 4 {
			t.Fatalf("round %d: partitions after restart = %d (%v)", round, info.Config.Partitions, err)
		}
		p, err := h.b.Partition("orders", 2)
		if err != nil || p.EndOffset() < 2 {
			t.Fatalf("round %d: partition 2 after restart: %v end=%d", round, err, p.EndOffset())
		}
		recs, err := p.Read(0, 1<<20, 2)
		if err != nil || len(recs) != 2 || string(recs[0].Value) != "b2" || string(recs[1].Value) != "c2" {
			t.Fatalf("round %d: partition 2 holds %+v (%v)", round, recs, err)
		}
	}
	g, err = h.b.Group("orders", "billing")
	if err != nil {
		t.Fatal(err)
	}
	// c2 was delivered but not acked: it comes back; the 64 keyed ones are new.
	ds = h.receive(g, "c", 100, 0)
	n := 0
	for _, d := range ds {
		if string(d.Value) == "c2" {
			n++
			if d.Partition != 2 || d.Offset != 1 || d.Count < 2 {
				t.Fatalf("c2 redelivered as %+v", d)
			}
		}
	}
	if n != 1 || len(ds) != 65 {
		t.Fatalf("after restart got %d deliveries (%d of c2)", len(ds), n)
	}
}

func TestAddPartitionsRefusals(t *testing.T) {
	h := newHarness(t)
	h.b.DeclareStream("t", broker.StreamConfig{Kind: broker.KindTopic, Partitions: 3, Durable: true})
	h.queue("q", broker.StreamConfig{})
	h.queue("pq", broker.StreamConfig{MaxPriority: 3})
	var inv *broker.InvalidArgumentError
	for _, c := range []struct {
		stream string
		total  int
	}{{"t", 3}, {"t", 2}, {"t", broker.MaxPartitions + 1}, {"q", 2}, {"pq", 8}} {
		if err := h.b.AddPartitions(c.stream, c.total); !errors.As(err, &inv) {
			t.Errorf("AddPartitions(%s, %d) = %v, want an InvalidArgumentError", c.stream, c.total, err)
		}
		if err := h.b.CheckAddPartitions(c.stream, c.total); !errors.As(err, &inv) {
			t.Errorf("CheckAddPartitions(%s, %d) = %v, want an InvalidArgumentError", c.stream, c.total, err)
		}
	}
	if err := h.b.AddPartitions("missing", 5); !errors.Is(err, broker.ErrNotFound) {
		t.Errorf("missing stream: %v", err)
	}
	if err := h.b.CheckAddPartitions("t", 4); err != nil {
		t.Errorf("CheckAddPartitions(t, 4): %v", err)
	}
	if info, _ := h.b.Stream("t"); info.Config.Partitions != 3 {
		t.Errorf("a check changed the count to %d", info.Config.Partitions)
	}
	if _, err := h.b.UpdateStream("t", func(c *broker.StreamConfig) error { c.Partitions = 5; return nil }); !errors.As(err, &inv) {
		t.Errorf("UpdateStream still refuses partition changes: %v", err)
	}
}

// A partition directory left by a growth whose journal record never reached
// disk must not leak its records into the partition created later.
func TestAddPartitionsClearsALeftoverDirectory(t *testing.T) {
	h := newHarness(t)
	h.b.DeclareStream("t", broker.StreamConfig{Kind: broker.KindTopic, Partitions: 1, Durable: true})
	h.restart() // the orphan sweep at start keeps the stream's own directory
	dir := filepath.Join(h.dir, "streams", fmt.Sprintf("%x", "t"), "1")
	l, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := l.Append([]batch.Record{{Value: []byte("ghost")}})
	if err == nil {
		err = a.Wait(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := h.b.AddPartitions("t", 2); err != nil {
		t.Fatal(err)
	}
	p, err := h.b.Partition("t", 1)
	if err != nil || p.EndOffset() != 0 {
		t.Fatalf("new partition: %v end=%d", err, p.EndOffset())
	}
}

// Growth while producers, consumers and observers run; meant for -race.
func TestAddPartitionsUnderLoad(t *testing.T) {
	h := newHarness(t)
	h.b.DeclareStream("load", broker.StreamConfig{Kind: broker.KindTopic, Partitions: 1, Durable: true})
	g, err := h.b.CreateGroup("load", "g", broker.GroupConfig{}, broker.StartAtBegin)
	if err != nil {
		t.Fatal(err)
	}
	const producers, perProducer = 3, 200
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perProducer; i++ {
				key := []byte(fmt.Sprint(p, "-", i))
				if i%2 == 0 {
					key = nil // round robin
				}
				r, err := h.b.Append("load", -1, []broker.Message{{Key: key, Value: []byte("v")}}, broker.PublishOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				r.Wait(ctx)
			}
		}()
	}
	received := make(chan int, 1)
	go func() {
		n := 0
		for n < producers*perProducer {
			rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
			ds, err := g.Receive(rctx, broker.ReceiveOptions{Consumer: "c", Max: 50, Wait: true})
			rcancel()
			if err != nil {
				break
			}
			refs := make([]broker.Ref, len(ds))
			for i, d := range ds {
				refs[i] = ref(d)
			}
			g.Ack(refs...)
			n += len(ds)
		}
		received <- n
	}()
	wg.Add(1)
	go func() { // observers
		defer wg.Done()
		for ctx.Err() == nil {
			h.b.Stats()
			g.Ready()
			g.Pending("")
			if info, err := h.b.Stream("load"); err == nil {
				for i := 0; i < info.Config.Partitions; i++ {
					if p, err := h.b.Partition("load", int32(i)); err == nil {
						p.EndOffset()
					}
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	for n := 2; n <= 6; n++ {
		if err := h.b.AddPartitions("load", n); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case n := <-received:
		if n != producers*perProducer {
			t.Fatalf("received %d of %d", n, producers*perProducer)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("consumer did not finish")
	}
	cancel()
	wg.Wait()
	var total int64
	for i := int32(0); i < 6; i++ {
		p, err := h.b.Partition("load", i)
		if err != nil {
			t.Fatal(err)
		}
		total += p.EndOffset()
	}
	if total != producers*perProducer {
		t.Fatalf("%d records stored, want %d", total, producers*perProducer)
	}
}
