package kafka

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gannet-mq/gannet/internal/broker"
)

// Kafka records and the core's messages are one thing: key, value,
// ordered headers and timestamp cross in both directions.
func TestRecordsMapOntoCoreMessages(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("shared", 1)
	ts := time.UnixMilli(1_700_000_123_000)

	// Written by another protocol through the core, read with franz-go.
	r, err := tb.b.Append("shared", 0, []broker.Message{{Key: []byte("k1"), Value: []byte("from core"),
		Headers: []broker.Header{{Key: "content-type", Value: []byte("text/plain")}}, Timestamp: ts}}, broker.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	cons := tb.client(kgo.ConsumeTopics("shared"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := consumeN(t, cons, 1)[0]
	if string(got.Key) != "k1" || string(got.Value) != "from core" || !got.Timestamp.Equal(ts) ||
		len(got.Headers) != 1 || got.Headers[0].Key != "content-type" || string(got.Headers[0].Value) != "text/plain" {
		t.Fatalf("kafka read %+v", got)
	}

	// Written with franz-go, read through the core.
	prod := tb.client(kgo.DefaultProduceTopic("shared"))
	rec := &kgo.Record{Key: []byte("k2"), Value: []byte("from kafka"), Timestamp: ts.Add(time.Second),
		Headers: []kgo.RecordHeader{{Key: "message-id", Value: []byte("m-1")}, {Key: "x", Value: nil}}}
	if err := prod.ProduceSync(testCtx(t), rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	part, _ := tb.b.Partition("shared", 0)
	recs, err := part.Read(1, 1<<20, 1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("core read %v %v", recs, err)
	}
	m := recs[0]
	if m.Offset != 1 || string(m.Key) != "k2" || string(m.Value) != "from kafka" || !m.Timestamp.Equal(ts.Add(time.Second)) {
		t.Fatalf("core read %+v", m)
	}
	if id, ok := m.HeaderValue(broker.HeaderMessageID); !ok || string(id) != "m-1" || len(m.Headers) != 2 {
		t.Fatalf("core headers %+v", m.Headers)
	}
}

// A static member (group.instance.id) that restarts within its session
// gets its partitions back without a rebalance of the others.
func TestStaticMemberRejoinsWithoutRebalance(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("static", 4)
	var seen = new(syncMapAlias)
	a := tb.joinGroup(t, "stat", "static", &seen.m, kgo.InstanceID("a"))
	defer a.cl.Close()
	b := tb.joinGroup(t, "stat", "static", &seen.m, kgo.InstanceID("b"))
	waitBalanced(t, 4, a, b)
	before := a.partitions()
	gen := tb.generation("stat")

	b.cl.Close() // static members do not leave the group on close
	b2 := tb.joinGroup(t, "stat", "static", &seen.m, kgo.InstanceID("b"))
	defer b2.cl.Close()
	waitBalanced(t, 4, a, b2)
	if got := tb.generation("stat"); got != gen {
		t.Fatalf("generation moved from %d to %d", gen, got)
	}
	if after := a.partitions(); len(after) != len(before) {
		t.Fatalf("member a owned %v, now %v", before, after)
	}
}

func (tb *testBroker) generation(group string) int32 {
	tb.s.groups.mu.Lock()
	defer tb.s.groups.mu.Unlock()
	return tb.s.groups.groups[group].generation
}

type syncMapAlias struct{ m sync.Map }
