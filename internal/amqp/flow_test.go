package amqp

import (
	"context"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
)

// TestPaceLooksAtQueuesWithConsumers checks the channel's side of pacing
// (broker.Pacer has the rules): a queue nobody consumes from never holds
// its publisher, however much it grows; once it has a consumer that does
// not drain, the publisher is held and pacing gives up.
func TestPaceLooksAtQueuesWithConsumers(t *testing.T) {
	b, err := broker.Open(broker.Options{DataDir: t.TempDir()})
	must(t, err)
	defer b.Close()
	s, err := New(Config{Broker: b, FlowBacklog: 100})
	must(t, err)
	_, _, err = b.DeclareStream("paced", broker.StreamConfig{Kind: broker.KindQueue, Durable: true})
	must(t, err)
	g, err := b.Queue("paced")
	must(t, err)
	ch := &channel{c: &conn{s: s}}
	// publish sends n messages through pace, as publishOne does, and
	// reports how long pace held the publisher.
	publish := func(n int) time.Duration {
		var held time.Duration
		var last broker.Receipt
		for range n {
			last, err = b.Publish("", "paced", broker.Message{Value: []byte("m")}, broker.PublishOptions{})
			must(t, err)
			must(t, last.Wait(context.Background()))
			start := time.Now()
			ch.pace(last)
			held += time.Since(start)
		}
		return held
	}
	if d := publish(300); d > broker.PaceMaxPause/2 {
		t.Fatalf("held %v with no consumer", d)
	}
	g.AddConsumer("c")
	if d := publish(3 * broker.PaceCheckEvery); d < broker.PaceMaxPause {
		t.Fatalf("a consumer that drains nothing: held %v, want at least %v", d, broker.PaceMaxPause)
	}
	if off, _ := ch.flow.Off(); !off {
		t.Fatal("pacing still on after the consumer drained nothing")
	}
}
