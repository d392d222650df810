package server_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/server"
	"github.com/gannet-mq/gannet/internal/testenv"
)

// fakeFrontend accepts connections and closes them, the smallest thing that
// behaves like a front-end. Hooks let a test make Serve fail or Shutdown hang.
type fakeFrontend struct {
	serveErr     error // returned by Serve at once when set
	holdShutdown bool  // Shutdown waits for its context to end

	mu           sync.Mutex
	listener     net.Listener
	serveStarted bool
	accepted     int
	shutdownSeen bool
	serveDone    chan struct{}
}

func newFakeFrontend() *fakeFrontend { return &fakeFrontend{serveDone: make(chan struct{})} }

func (f *fakeFrontend) Serve(listener net.Listener) error {
	defer close(f.serveDone)
	f.mu.Lock()
	f.listener, f.serveStarted = listener, true
	shutDown := f.shutdownSeen
	f.mu.Unlock()
	if shutDown {
		// Shutdown came before Serve: it found no listener to close.
		listener.Close()
	}
	if f.serveErr != nil {
		return f.serveErr
	}
	for {
		conn, err := listener.Accept()
		if err != nil {
			return err
		}
		f.mu.Lock()
		f.accepted++
		f.mu.Unlock()
		conn.Close()
	}
}

func (f *fakeFrontend) Shutdown(ctx context.Context) error {
	f.mu.Lock()
	f.shutdownSeen = true
	listener := f.listener
	f.mu.Unlock()
	if f.holdShutdown {
		<-ctx.Done()
		return ctx.Err()
	}
	if listener != nil {
		listener.Close()
	}
	select {
	case <-f.serveDone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeFrontend) served() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.serveStarted
}

func (f *fakeFrontend) state() (accepted int, shutdownSeen bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.accepted, f.shutdownSeen
}

func TestFrontendIsServedOnItsListenerAndDrained(t *testing.T) {
	cfg := testConfig(t)
	cfg.KafkaAdvertisedAddr = "kafka.example.com:9092"
	fake := newFakeFrontend()
	var deps server.FrontendDeps
	s, err := server.NewWithFrontends(cfg, nil, map[string]server.NewFrontend{
		"kafka": func(d server.FrontendDeps) (server.Frontend, error) {
			deps = d
			return fake, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := s.Addrs().Kafka
	if addr == "" || addr != deps.Addr.String() {
		t.Fatalf("Addrs().Kafka = %q, front-end was given %v; want the same bound address", addr, deps.Addr)
	}
	if deps.Broker == nil || deps.Logger == nil || deps.Registerer == nil || deps.Connections == nil {
		t.Errorf("front-end dependencies incomplete: %+v", deps)
	}
	if deps.AdvertisedAddr != "kafka.example.com:9092" || deps.MaxMessageBytes != cfg.MaxMessageBytes {
		t.Errorf("AdvertisedAddr, MaxMessageBytes = %q, %d", deps.AdvertisedAddr, deps.MaxMessageBytes)
	}

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dialing the kafka listener: %v", err)
	}
	conn.Close()
	testenv.WaitFor(t, "the front-end to accept the connection", func() bool {
		accepted, _ := fake.state()
		return accepted == 1
	})

	shutdown(t, s)
	if _, shutdownSeen := fake.state(); !shutdownSeen {
		t.Error("Shutdown did not drain the front-end")
	}
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Error("the kafka listener still accepts after Shutdown")
	}
}

func TestRunStopsWhenAFrontendFails(t *testing.T) {
	fake := newFakeFrontend()
	fake.serveErr = errBoom
	s, err := server.NewWithFrontends(testConfig(t), nil, map[string]server.NewFrontend{
		"sqs": func(server.FrontendDeps) (server.Frontend, error) { return fake, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	// Run has no signal to wait for: the failing listener alone must end it.
	err = s.Run(context.Background())
	if !errors.Is(err, errBoom) || !strings.Contains(err.Error(), "sqs listener stopped serving") {
		t.Errorf("Run = %v, want the sqs listener's failure", err)
	}
	if _, shutdownSeen := fake.state(); !shutdownSeen {
		t.Error("the server did not shut down after the failure")
	}
}

func TestRunShutsDownWhenTheContextEnds(t *testing.T) {
	fake := newFakeFrontend()
	s, err := server.NewWithFrontends(testConfig(t), nil, map[string]server.NewFrontend{
		"amqp": func(server.FrontendDeps) (server.Frontend, error) { return fake, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- s.Run(ctx) }()
	testenv.WaitFor(t, "the front-end to be served", fake.served)
	cancel() // what SIGTERM does through signal.NotifyContext
	select {
	case err := <-result:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil (a clean drain)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	if _, shutdownSeen := fake.state(); !shutdownSeen {
		t.Error("the front-end was not drained")
	}
}

func TestShutdownTimeoutCutsAStuckFrontendAndStillCloses(t *testing.T) {
	fake := newFakeFrontend()
	fake.holdShutdown = true
	s, err := server.NewWithFrontends(testConfig(t), nil, map[string]server.NewFrontend{
		"redis": func(server.FrontendDeps) (server.Frontend, error) { return fake, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := s.Addrs().Redis
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = s.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "draining the redis front-end") {
		t.Errorf("Shutdown = %v, want the redis drain to report the deadline", err)
	}
	// The server closed the listener itself, so the stuck front-end's Serve
	// loop ended and nothing accepts any more.
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Error("the redis listener still accepts after a timed-out Shutdown")
	}
	<-fake.serveDone
}
