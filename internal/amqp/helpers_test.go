package amqp

import (
	"context"
	"net"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/gannet-mq/gannet/internal/broker"
)

// testBroker is a core and an AMQP front-end on a random port.
type testBroker struct {
	t    testing.TB
	b    *broker.Broker
	srv  *Server
	addr string
	dir  string
}

func startBroker(t testing.TB, cfgs ...func(*Config)) *testBroker {
	t.Helper()
	return startBrokerIn(t, t.TempDir(), cfgs...)
}

func startBrokerIn(t testing.TB, dir string, cfgs ...func(*Config)) *testBroker {
	t.Helper()
	b, err := broker.Open(broker.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Broker: b}
	for _, f := range cfgs {
		f(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	tb := &testBroker{t: t, b: b, srv: srv, addr: l.Addr().String(), dir: dir}
	t.Cleanup(tb.stop)
	return tb
}

func (tb *testBroker) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tb.srv.Shutdown(ctx)
	tb.b.Close()
}

func (tb *testBroker) url() string { return "amqp://guest:guest@" + tb.addr + "/" }

func (tb *testBroker) dial() *amqp091.Connection {
	tb.t.Helper()
	conn, err := amqp091.Dial(tb.url())
	if err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Cleanup(func() { conn.Close() })
	return conn
}

func (tb *testBroker) channel() (*amqp091.Connection, *amqp091.Channel) {
	tb.t.Helper()
	conn := tb.dial()
	ch, err := conn.Channel()
	if err != nil {
		tb.t.Fatal(err)
	}
	return conn, ch
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// next returns the next delivery or fails after a few seconds.
func next(t *testing.T, ds <-chan amqp091.Delivery) amqp091.Delivery {
	t.Helper()
	select {
	case d, ok := <-ds:
		if !ok {
			t.Fatal("delivery channel closed")
		}
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery within 5s")
	}
	return amqp091.Delivery{}
}

// none checks that nothing is delivered for a short while.
func none(t *testing.T, ds <-chan amqp091.Delivery) {
	t.Helper()
	select {
	case d := <-ds:
		t.Fatalf("unexpected delivery %q", d.Body)
	case <-time.After(150 * time.Millisecond):
	}
}

func publish(t *testing.T, ch *amqp091.Channel, exchange, key string, p amqp091.Publishing) {
	t.Helper()
	must(t, ch.PublishWithContext(context.Background(), exchange, key, false, false, p))
}

// amqpCode returns the reply code of a channel or connection error.
func amqpCode(err error) int {
	if e, ok := err.(*amqp091.Error); ok {
		return e.Code
	}
	return 0
}
