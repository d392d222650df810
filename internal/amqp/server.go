// Package amqp is Gannet's AMQP 0-9-1 front-end: the connection and channel
// state machines that let RabbitMQ clients (pika, amqp091-go, amqp-tools)
// work unchanged over the protocol-neutral core in package broker.
//
// Each connection has one reader goroutine that decodes frames and runs
// methods, and one writer goroutine that flushes a shared output buffer
// whenever there is something in it, so that deliveries, confirms and
// replies written from several goroutines leave in as few syscalls as
// possible. A channel in confirm mode has one goroutine that waits for the
// core's receipts (fsync) and sends coalesced basic.ack frames; each consumer
// has one goroutine that receives batches from the core. Nothing runs per
// message.
package amqp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gannet-mq/gannet/internal/alarm"
	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/tcpserve"
)

// Config configures the front-end. Only Broker is required.
type Config struct {
	Broker *broker.Broker
	Logger *slog.Logger
	// Connections is incremented on accept and decremented on close.
	Connections prometheus.Gauge
	// MaxMessageBytes is the largest body accepted; 0 means 1 MiB.
	MaxMessageBytes int
	// Users maps user names to passwords; nil means guest/guest.
	Users map[string]string
	// Heartbeat is the interval the server proposes; 0 means 60 s.
	Heartbeat time.Duration
	// FrameMax is the largest frame the server accepts; 0 means 128 KiB.
	FrameMax uint32
	// ChannelMax is the most channels per connection; 0 means 2047.
	ChannelMax uint16
	// Alarms are the broker's memory and disk alarms: while one is raised,
	// a publish waits and its connection gets connection.blocked, as in
	// RabbitMQ. nil means no alarms.
	Alarms *alarm.Monitor
	// FlowBacklog is the ready backlog of a queue with working consumers
	// above which its publishers are paced (see flow.go); 0 means 200,
	// negative turns pacing off.
	FlowBacklog int
	// ConsumerTimeout closes a channel holding a delivery unacknowledged
	// this long (RabbitMQ's consumer_timeout); 0 means 30 minutes, negative
	// turns it off.
	ConsumerTimeout time.Duration
}

// Server serves AMQP 0-9-1 connections.
type Server struct {
	cfg    Config
	b      *broker.Broker
	log    *slog.Logger
	nextID atomic.Uint64

	tcp *tcpserve.Server

	mu sync.Mutex
	// replyTo maps direct reply-to names to the channel consuming them.
	replyTo map[string]*channel
	// exclusiveConsumers maps a queue to its exclusive consumer.
	exclusiveConsumers map[string]string
}

// New builds a server; it starts nothing until Serve.
func New(cfg Config) (*Server, error) {
	if cfg.Broker == nil {
		return nil, errors.New("amqp: Config.Broker is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = broker.DefaultMaxMessageBytes
	}
	if cfg.Users == nil {
		cfg.Users = map[string]string{"guest": "guest"}
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 60 * time.Second
	}
	if cfg.FrameMax == 0 {
		cfg.FrameMax = 128 << 10
	}
	cfg.FrameMax = max(cfg.FrameMax, 4096)
	if cfg.ChannelMax == 0 {
		cfg.ChannelMax = 2047
	}
	if cfg.ConsumerTimeout == 0 {
		cfg.ConsumerTimeout = DefaultConsumerTimeout
	}
	if cfg.FlowBacklog == 0 {
		cfg.FlowBacklog = 200
	}
	s := &Server{
		cfg: cfg, b: cfg.Broker, log: cfg.Logger,
		replyTo:            make(map[string]*channel),
		exclusiveConsumers: make(map[string]string),
	}
	s.tcp = tcpserve.New(func(nc net.Conn) tcpserve.Conn { return newConn(s, nc) }, cfg.Connections)
	if err := s.declareStandardExchanges(); err != nil {
		return nil, err
	}
	// Exclusive queues belong to connections of an earlier run, all gone.
	for _, info := range s.b.Streams() {
		if strings.HasPrefix(info.Config.Owner, ownerPrefix) {
			s.b.DeleteStream(info.Name)
		}
	}
	return s, nil
}

// declareStandardExchanges makes sure the amq.* exchanges every RabbitMQ
// broker has exist.
func (s *Server) declareStandardExchanges() error {
	for _, e := range []struct{ name, kind string }{
		{"amq.direct", "direct"}, {"amq.fanout", "fanout"}, {"amq.topic", "topic"},
		{"amq.headers", "headers"}, {"amq.match", "headers"},
	} {
		_, err := s.b.DeclareExchange(broker.ExchangeConfig{Name: e.name, Kind: e.kind, Durable: true})
		if err != nil && !errors.Is(err, broker.ErrExists) {
			return err
		}
	}
	return nil
}

// Serve accepts connections until Shutdown.
func (s *Server) Serve(l net.Listener) error { return s.tcp.Serve(l) }

// Shutdown stops accepting, asks every client to go with
// connection.close (320 CONNECTION_FORCED) and cuts those still open when
// ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.tcp.Stop()
	return s.tcp.Wait(ctx, nil)
}

func (s *Server) registerReplyTo(name string, ch *channel) {
	s.mu.Lock()
	s.replyTo[name] = ch
	s.mu.Unlock()
}

func (s *Server) unregisterReplyTo(name string) {
	s.mu.Lock()
	delete(s.replyTo, name)
	s.mu.Unlock()
}

func (s *Server) lookupReplyTo(name string) *channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replyTo[name]
}

// randomName returns prefix followed by 22 URL-safe random characters, the
// shape of RabbitMQ's amq.gen- names.
func randomName(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}
