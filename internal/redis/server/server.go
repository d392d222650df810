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

	"github.com/gannet-mq/gannet/internal/alarm"
	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/clock"
	"github.com/gannet-mq/gannet/internal/redis/resp"
	"github.com/gannet-mq/gannet/internal/tcpserve"
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
	// FlowBacklog is the ready backlog of a consumer group that is being
	// read above which XADD is paced (see pacing.go); 0 means
	// DefaultFlowBacklog, negative turns pacing off.
	FlowBacklog int
	// Alarms, when set, refuse commands that add data while the memory
	// (-OOM) or disk (-MISCONF) alarm is raised.
	Alarms *alarm.Monitor
	// Clock is the protocol time: consumers' seen and idle times, XADD's
	// automatic ids, CLIENT and INFO ages; nil means the wall clock. Pass
	// the broker's clock, which stamps deliveries and checks min-idle.
	Clock clock.Clock
}

// Server serves the Redis protocol on listeners.
type Server struct {
	deps    Deps
	log     *slog.Logger
	started time.Time

	tcp    *tcpserve.Server
	nextID atomic.Int64

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
	if deps.Clock == nil {
		deps.Clock = clock.Real()
	}
	if deps.FlowBacklog == 0 {
		deps.FlowBacklog = DefaultFlowBacklog
	}
	s := &Server{
		deps:    deps,
		log:     deps.Logger,
		started: deps.Clock.Now(),
		streams: make(map[string]*streamState),
		groups:  make(map[groupKey]*groupState),
	}
	s.tcp = tcpserve.New(func(nc net.Conn) tcpserve.Conn { return newConn(s, nc) }, deps.Connections)
	return s, nil
}

// now is the protocol time: the injected clock's.
func (s *Server) now() time.Time { return s.deps.Clock.Now() }

// Serve accepts connections until Shutdown; it then returns net.ErrClosed.
func (s *Server) Serve(l net.Listener) error { return s.tcp.Serve(l) }

// Shutdown stops accepting, lets each connection finish the command it is
// running (blocked reads end at once), and cuts what is left when ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.tcp.Stop()
	return s.tcp.Wait(ctx, nil)
}

func (s *Server) clientList() []*conn {
	var out []*conn
	for _, c := range s.tcp.Conns() {
		out = append(out, c.(*conn))
	}
	return out
}
