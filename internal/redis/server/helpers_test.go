package server

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gannet-mq/gannet/internal/broker"
)

// testServer is a broker in a temp dir with the Redis front-end on a
// random loopback port.
type testServer struct {
	t      *testing.T
	dir    string
	broker *broker.Broker
	srv    *Server
	addr   string
	done   chan error
}

func startServer(t *testing.T, dir string) *testServer {
	t.Helper()
	return startServerWith(t, dir, nil)
}

func startServerWith(t *testing.T, dir string, configure func(*Deps)) *testServer {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	var deps Deps
	if configure != nil {
		configure(&deps)
	}
	// The core gets the front-end's clock, as internal/server wires them.
	b, err := broker.Open(broker.Options{DataDir: dir, Clock: deps.Clock})
	if err != nil {
		t.Fatal(err)
	}
	if deps.Broker == nil {
		deps.Broker = b
	}
	srv, err := New(deps)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{t: t, dir: dir, broker: b, srv: srv, addr: l.Addr().String(), done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve(l) }()
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) stop() {
	if ts.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ts.srv.Shutdown(ctx)
	<-ts.done
	ts.broker.Close()
	ts.srv = nil
}

// pipeConn is a connection to ts's server over an in-memory pipe, for tests
// that drive its dispatch directly (dispatchLine) and read the replies it
// leaves in c.out.
func pipeConn(t *testing.T, ts *testServer) *conn {
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	return newConn(ts.srv, server)
}

// dispatchLine dispatches cmd, its arguments split at spaces, as the next
// command of a pipeline.
func dispatchLine(c *conn, cmd string) {
	var args [][]byte
	for _, a := range strings.Fields(cmd) {
		args = append(args, []byte(a))
	}
	c.dispatch(args)
}

func (ts *testServer) client(protocol int) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: ts.addr, Protocol: protocol, MaxRetries: -1})
	ts.t.Cleanup(func() { c.Close() })
	return c
}
