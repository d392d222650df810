package kafka

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gannet-mq/gannet/internal/broker"
)

// testBroker is a core plus a Kafka front-end on a loopback port.
type testBroker struct {
	t    testing.TB
	dir  string
	b    *broker.Broker
	s    *Server
	addr string
	done chan error
}

func startBroker(t testing.TB, dir string, tweak ...func(*Config)) *testBroker {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Addr: l.Addr(), MinSessionTimeout: time.Second}
	for _, f := range tweak {
		f(&cfg)
	}
	// The core gets the front-end's clock, as internal/server wires them.
	b, err := broker.Open(broker.Options{DataDir: dir, Clock: cfg.Clock})
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	cfg.Broker = b
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tb := &testBroker{t: t, dir: dir, b: b, s: s, addr: l.Addr().String(), done: make(chan error, 1)}
	go func() { tb.done <- s.Serve(l) }()
	t.Cleanup(tb.stop)
	return tb
}

func (tb *testBroker) stop() {
	if tb.s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tb.s.Shutdown(ctx); err != nil {
		tb.t.Errorf("shutdown: %v", err)
	}
	<-tb.done
	tb.b.Close()
	tb.s = nil
}

func (tb *testBroker) client(opts ...kgo.Opt) *kgo.Client {
	tb.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(tb.addr)}, opts...)...)
	if err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Cleanup(cl.Close)
	return cl
}

func (tb *testBroker) createTopic(name string, partitions int32) {
	tb.t.Helper()
	adm := kadm.NewClient(tb.client())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, partitions, 1, nil, name)
	if err != nil || resp.Err != nil {
		tb.t.Fatalf("create topic %s: %v %v", name, err, resp.Err)
	}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// consumeN reads n records with a direct (group-less) consumer.
func consumeN(t testing.TB, cl *kgo.Client, n int) []*kgo.Record {
	t.Helper()
	ctx := testCtx(t)
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d: %v", len(out), n, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		out = append(out, fs.Records()...)
	}
	return out
}
