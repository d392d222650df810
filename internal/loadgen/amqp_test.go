package loadgen

import (
	"context"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gannet-mq/gannet/internal/config"
	"github.com/gannet-mq/gannet/internal/server"
)

// TestAMQPConsumerSubscribedWhenOpened checks that an AMQP consumer holds a
// subscription on every one of its queues once newConsumer returns, before
// the run publishes. Subscribing in run instead left messages waiting for
// their queue's basic.consume-ok: with 1000 queues that was most of the
// first second's messages, and the p99 of the whole run.
func TestAMQPConsumerSubscribedWhenOpened(t *testing.T) {
	addr := startGannet(t).AMQP
	cfg := DefaultConfig()
	cfg.Protocol, cfg.Addr, cfg.Queues, cfg.Consumers = "amqp", addr, 6, 2
	w := newAMQPWorkload(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := w.setup(ctx); err != nil {
		t.Fatal(err)
	}
	for m := range cfg.Consumers {
		c, err := w.newConsumer(ctx, 0, m)
		if err != nil {
			t.Fatal(err)
		}
		defer c.close()
	}
	conn, err := amqp.Dial("amqp://guest:guest@" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	for q := range cfg.Queues {
		info, err := ch.QueueDeclarePassive(w.queue(q, 0), true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if info.Consumers != 1 {
			t.Errorf("queue %s has %d consumers before the run, want 1", info.Name, info.Consumers)
		}
	}
}

// startGannet runs a whole Gannet serving AMQP and Kafka on loopback ports.
func startGannet(t *testing.T) server.Addrs {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.AMQPAddr, cfg.KafkaAddr, cfg.RedisAddr, cfg.SQSAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0", "", "", ""
	s, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s.Addrs()
}
