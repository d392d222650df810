// Package embedded runs a complete Gannet server inside a Go process, for
// users' own tests: every listener on a free loopback port, data in a fresh
// temporary directory, everything removed again by Close.
//
//	b, err := embedded.Start(ctx, embedded.Options{})
//	if err != nil { ... }
//	defer b.Close()
//	conn, err := amqp091.Dial("amqp://guest:guest@" + b.AMQPAddr() + "/")
//
// Clients talk to an embedded broker the same way they talk to a deployed
// one, over its wire protocols. The broker core is deliberately not exposed
// as a Go API: its types live in an internal package, so callers could hold
// one but never name its type, and every change to the core would become a
// breaking change here. Tests written against the protocols also exercise
// what production runs.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/gannet-mq/gannet/internal/config"
	"github.com/gannet-mq/gannet/internal/server"
)

// Options configures an embedded broker. The zero value is ready to use.
type Options struct {
	// DataDir keeps the data in this directory, which Close leaves in
	// place (to restart on it, or to inspect it). Empty means a new
	// temporary directory that Close removes.
	DataDir string
	// Logger receives the server's structured logs. Nil discards them.
	Logger *slog.Logger
	// Fsync is "always" (the default), "interval" or "never". Tests that
	// do not care about crash safety can pick "never" for speed.
	Fsync string
	// MaxMessageBytes is the largest message accepted; 0 means 1 MiB.
	MaxMessageBytes int
	// ShutdownTimeout bounds how long Close waits for connections to
	// drain; 0 means 5 seconds.
	ShutdownTimeout time.Duration
}

// Broker is a running embedded server.
type Broker struct {
	server    *server.Server
	addrs     server.Addrs
	dataDir   string
	temporary bool
	timeout   time.Duration

	closeOnce sync.Once
	closeErr  error
}

// Start runs a server on 127.0.0.1 with every listener on a free port and
// returns once all of them accept connections. ctx bounds the start only;
// stop the broker with Close.
func Start(ctx context.Context, opts Options) (*Broker, error) {
	cfg := config.Default()
	const loopbackAnyPort = "127.0.0.1:0"
	cfg.AMQPAddr, cfg.KafkaAddr, cfg.RedisAddr, cfg.SQSAddr, cfg.HTTPAddr =
		loopbackAnyPort, loopbackAnyPort, loopbackAnyPort, loopbackAnyPort, loopbackAnyPort
	if opts.Fsync != "" {
		cfg.Fsync = opts.Fsync
	}
	if opts.MaxMessageBytes != 0 {
		cfg.MaxMessageBytes = opts.MaxMessageBytes
	}
	cfg.ShutdownTimeout = 5 * time.Second
	if opts.ShutdownTimeout != 0 {
		cfg.ShutdownTimeout = opts.ShutdownTimeout
	}

	b := &Broker{dataDir: opts.DataDir, timeout: cfg.ShutdownTimeout}
	if b.dataDir == "" {
		dir, err := os.MkdirTemp("", "gannet-embedded-")
		if err != nil {
			return nil, fmt.Errorf("embedded: creating a temporary data directory: %w; set Options.DataDir or TMPDIR", err)
		}
		b.dataDir, b.temporary = dir, true
	}
	cfg.DataDir = b.dataDir

	srv, err := server.New(cfg, opts.Logger)
	if err == nil {
		err = srv.Start(ctx)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("embedded: %w", err), b.removeTemporaryDir())
	}
	b.server, b.addrs = srv, srv.Addrs()
	return b, nil
}

// AMQPAddr is the host:port for AMQP 0-9-1 clients.
func (b *Broker) AMQPAddr() string { return b.addrs.AMQP }

// KafkaAddr is the bootstrap host:port for Kafka clients.
func (b *Broker) KafkaAddr() string { return b.addrs.Kafka }

// RedisAddr is the host:port for Redis clients.
func (b *Broker) RedisAddr() string { return b.addrs.Redis }

// SQSAddr is the host:port of the SQS API.
func (b *Broker) SQSAddr() string { return b.addrs.SQS }

// SQSURL is the endpoint URL to give an SQS client (BaseEndpoint in
// aws-sdk-go-v2, endpoint_url in boto3).
func (b *Broker) SQSURL() string { return "http://" + b.addrs.SQS }

// HTTPAddr is the host:port serving /metrics, /healthz and /readyz.
func (b *Broker) HTTPAddr() string { return b.addrs.HTTP }

// DataDir is the directory holding the broker's data.
func (b *Broker) DataDir() string { return b.dataDir }

// Close drains the listeners, closes the broker (fsyncing its logs) and, if
// the data directory was temporary, removes it. It is safe to call twice.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
		defer cancel()
		b.closeErr = errors.Join(b.server.Shutdown(ctx), b.removeTemporaryDir())
	})
	return b.closeErr
}

func (b *Broker) removeTemporaryDir() error {
	if !b.temporary {
		return nil
	}
	if err := os.RemoveAll(b.dataDir); err != nil {
		return fmt.Errorf("embedded: removing temporary data directory: %w", err)
	}
	return nil
}
