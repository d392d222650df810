package amqp

import (
	"context"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
)

// TestPacing drives a channel's pace directly: no pause while the backlog
// is under the limit or the queue has no consumer, a pause until consumers
// drain half of it, and, when they do not, a give-up after flowMaxPause that
// holds for flowOffPeriod.
func TestPacing(t *testing.T) {
	b, err := broker.Open(broker.Options{DataDir: t.TempDir()})
	must(t, err)
	defer b.Close()
	s, err := New(Config{Broker: b, FlowBacklog: 100})
	must(t, err)
	_, _, err = b.DeclareStream("paced", broker.StreamConfig{Kind: broker.KindQueue, Durable: true})
	must(t, err)
	g, err := b.Queue("paced")
	must(t, err)
	var last broker.Receipt // what pace is told the publish reached
	fill := func(n int) {
		for range n {
			last, err = b.Publish("", "paced", broker.Message{Value: []byte("m")}, broker.PublishOptions{})
			must(t, err)
		}
		must(t, last.Wait(context.Background()))
	}
	ch := &channel{c: &conn{s: s}}
	// pace runs one check per flowCheckEvery publishes; paceCheck makes
	// exactly one and reports how long it held the publisher.
	paceCheck := func() time.Duration {
		start := time.Now()
		for range flowCheckEvery {
			ch.pace(last)
		}
		return time.Since(start)
	}

	fill(150)
	if d := paceCheck(); d > flowMaxPause/2 {
		t.Fatalf("paced %v with no consumer", d)
	}
	g.AddConsumer("c")
	if d := paceCheck(); d < flowMaxPause || ch.flow.offTill.IsZero() {
		t.Fatalf("a stalled consumer: paused %v (want at least %v), pacing off until %v", d, flowMaxPause, ch.flow.offTill)
	}
	if d := paceCheck(); d > flowMaxPause/2 {
		t.Fatalf("paced %v while pacing is off", d)
	}

	// Consumers that keep up: the publisher waits until half is drained.
	ch.flow = flowState{}
	_, err = g.Receive(context.Background(), broker.ReceiveOptions{Consumer: "c", Max: 100})
	must(t, err)
	if g.Ready() != 50 {
		t.Fatalf("ready %d, want 50", g.Ready())
	}
	if d := paceCheck(); d > flowMaxPause/2 || !ch.flow.offTill.IsZero() {
		t.Fatalf("paced %v at the limit (off until %v)", d, ch.flow.offTill)
	}
	fill(60) // 110 ready
	go func() {
		time.Sleep(2 * time.Millisecond)
		g.Receive(context.Background(), broker.ReceiveOptions{Consumer: "c", Max: 60})
	}()
	// The queue itself says whether the consumer drained before pace
	// let the publisher go: a flag set after Receive returns would race
	// with pace, which sees the records leave inside Receive.
	if d := paceCheck(); g.Ready() > 50 || !ch.flow.offTill.IsZero() {
		t.Fatalf("over the limit: returned after %v with %d ready (want at most 50), gave up until %v",
			d, g.Ready(), ch.flow.offTill)
	}
}
