package server_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/config"
	"github.com/gannet-mq/gannet/internal/server"
	"github.com/gannet-mq/gannet/internal/testenv"
)

// testConfig listens on loopback port 0 everywhere, with data in a temp dir.
func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.AMQPAddr, cfg.KafkaAddr, cfg.RedisAddr, cfg.SQSAddr, cfg.HTTPAddr =
		"127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.ShutdownTimeout = 10 * time.Second
	return cfg
}

// syncBuffer is a log sink that tests can read while the server writes.
type syncBuffer struct {
	mu     sync.Mutex
	buffer bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buffer.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buffer.String()
}

func testLogger() (*slog.Logger, *syncBuffer) {
	logs := &syncBuffer{}
	return slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), logs
}

func shutdown(t *testing.T, s *server.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestServerServesHTTPAndEveryFrontend(t *testing.T) {
	logger, logs := testLogger()
	s, err := server.New(testConfig(t), logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	addrs := s.Addrs()
	if addrs.HTTP == "" || strings.HasSuffix(addrs.HTTP, ":0") {
		t.Fatalf("Addrs().HTTP = %q, want the bound loopback address", addrs.HTTP)
	}
	// All four front-ends are built, so every protocol must be bound.
	bound := map[string]string{"amqp": addrs.AMQP, "kafka": addrs.Kafka, "redis": addrs.Redis, "sqs": addrs.SQS}
	for protocol, addr := range bound {
		if addr == "" || strings.HasSuffix(addr, ":0") {
			t.Errorf("%s address = %q, want the bound loopback address of its front-end", protocol, addr)
		}
	}
	if strings.Contains(logs.String(), "listener not started") {
		t.Errorf("a configured listener was not started:\n%s", logs)
	}

	if status, body := testenv.Get(t, "http://"+addrs.HTTP+"/healthz"); status != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q", status, body)
	}
	if status, body := testenv.Get(t, "http://"+addrs.HTTP+"/readyz"); status != http.StatusOK {
		t.Errorf("/readyz = %d %q, want 200", status, body)
	}
	status, body := testenv.Get(t, "http://"+addrs.HTTP+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics = %d", status)
	}
	for _, series := range []string{"gannet_disk_bytes", "go_goroutines", "process_open_fds"} {
		if !strings.Contains(body, series) {
			t.Errorf("/metrics has no %s", series)
		}
	}

	shutdown(t, s)
	if conn, err := net.Dial("tcp", addrs.HTTP); err == nil {
		conn.Close()
		t.Error("the HTTP listener still accepts after Shutdown")
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown = %v, want nil", err)
	}
	if err := s.Start(context.Background()); err == nil {
		t.Error("Start after Shutdown succeeded; a server is single-use")
	}
}

func TestListenersTurnedOffAreNotBound(t *testing.T) {
	cfg := testConfig(t)
	cfg.HTTPAddr, cfg.RedisAddr = "", ""
	opened := make(chan struct{}, 1)
	s, err := server.NewWithFrontends(cfg, nil, map[string]server.NewFrontend{
		"redis": func(server.FrontendDeps) (server.Frontend, error) {
			opened <- struct{}{}
			return newFakeFrontend(), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, s)
	if got := s.Addrs(); got != (server.Addrs{}) {
		t.Errorf("Addrs() = %+v, want none with redis and http off", got)
	}
	select {
	case <-opened:
		t.Error("the redis front-end was built although redis_addr is empty")
	default:
	}
}

func TestNewRejectsAnInvalidConfig(t *testing.T) {
	cfg := testConfig(t)
	cfg.Fsync = "sometimes"
	if _, err := server.New(cfg, nil); err == nil || !strings.Contains(err.Error(), `fsync "sometimes"`) {
		t.Errorf("New with a bad fsync mode: err = %v", err)
	}
}

func TestStartFailsCleanlyWhenAPortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	cfg := testConfig(t)
	cfg.HTTPAddr = taken.Addr().String()
	fake := newFakeFrontend()
	var fakeAddr net.Addr
	s, err := server.NewWithFrontends(cfg, nil, map[string]server.NewFrontend{
		"amqp": func(deps server.FrontendDeps) (server.Frontend, error) {
			fakeAddr = deps.Addr
			return fake, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Start(context.Background())
	if err == nil {
		shutdown(t, s)
		t.Fatal("Start succeeded on a port that is in use")
	}
	if !strings.Contains(err.Error(), "--http-addr") || !strings.Contains(err.Error(), taken.Addr().String()) {
		t.Errorf("error %q should name the address and the flag that sets it", err)
	}
	// The AMQP listener bound before the failure must have been released.
	if conn, dialErr := net.Dial("tcp", fakeAddr.String()); dialErr == nil {
		conn.Close()
		t.Errorf("the AMQP listener on %s is still open after the failed Start", fakeAddr)
	}
	if fake.served() {
		t.Error("a front-end was served although Start failed")
	}
}

// The size defaults are the broker's own constants; the fsync default is a
// string that must parse to the durable policy.
func TestDefaultFsyncIsAlways(t *testing.T) {
	if policy, err := broker.ParseFsyncPolicy(config.DefaultFsync); err != nil || policy != broker.FsyncAlways {
		t.Errorf("default fsync %q parses to %v, %v; want FsyncAlways", config.DefaultFsync, policy, err)
	}
}

var errBoom = errors.New("accept: too many open files")
