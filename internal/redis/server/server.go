// Package server is Gannet's Redis front-end: it speaks RESP2 and RESP3 to
// Redis clients (redis-py, go-redis, redis-cli) and serves the stream
// commands (XADD, XREAD, consumer groups, XCLAIM, ...) over the broker core.
// A Redis stream is the core stream of the same name, so entries written with
// XADD are messages for the other protocols and vice versa; see
// docs/protocols/redis.md for the mapping of ids, fields and groups.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/redis/resp"
)

// Deps is what the server needs from the process that runs it.
type Deps struct {
	Broker          *broker.Broker
	Logger          *slog.Logger
	Connections     prometheus.Gauge // may be nil
	MaxMessageBytes int
	Limits          resp.Limits
	// Password, when set, is required by AUTH before any other command.
	Password string
}

// Server serves the Redis protocol on listeners.
type Server struct {
	deps    Deps
	log     *slog.Logger
	started time.Time

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closing   bool
	wg        sync.WaitGroup
	nextID    atomic.Int64

	streamsMu sync.Mutex
	streams   map[string]*streamState
	groupsMu  sync.Mutex
	groups    map[groupKey]*groupState
}

// New returns a server; it starts nothing until Serve.
func New(deps Deps) (*Server, error) {
	if deps.Broker == nil {
		return nil, errors.New("redis: a broker is required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.MaxMessageBytes <= 0 {
		deps.MaxMessageBytes = broker.DefaultMaxMessageBytes
	}
	return &Server{
		deps:      deps,
		log:       deps.Logger,
		started:   time.Now(),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		streams:   make(map[string]*streamState),
		groups:    make(map[groupKey]*groupState),
	}, nil
}

// Serve accepts connections until Shutdown; it then returns net.ErrClosed.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.Close()
		return net.ErrClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return net.ErrClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		if s.deps.Connections != nil {
			s.deps.Connections.Inc()
		}
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			if s.deps.Connections != nil {
				s.deps.Connections.Dec()
			}
		}()
	}
}

// Shutdown stops accepting, lets each connection finish the command it is
// running (blocked reads end at once), and cuts what is left when ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.shutdown()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

func (s *Server) clientList() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}
