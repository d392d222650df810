// Package kafka is Gannet's Kafka protocol front-end. It speaks the Kafka
// wire protocol (request and response types from franz-go's kmsg, flexible
// versions included) over the broker core: topics are streams, partitions
// are the stream's partitions, and producers' RecordBatch v2 bytes are stored
// and served as they are.
//
// One connection reads requests in order and answers them in order, but a
// request's slow part (waiting for fsync, a long-poll fetch, a group join)
// runs while later requests are already being read and processed, so a
// producer's pipelined requests share fsyncs.
package kafka

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gannet-mq/gannet/internal/alarm"
	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/clock"
	"github.com/gannet-mq/gannet/internal/tcpserve"
)

// Config is what the front-end needs from the server.
type Config struct {
	Broker *broker.Broker
	Logger *slog.Logger
	// Registerer takes the front-end's request series; nil means none.
	Registerer prometheus.Registerer
	// Connections is Inc'd on accept and Dec'd on close; nil means none.
	Connections prometheus.Gauge
	// Addr is the bound listener address; AdvertisedAddr (host:port), when
	// set, is what Metadata tells clients to dial instead.
	Addr           net.Addr
	AdvertisedAddr string
	// MaxMessageBytes is the broker's message size limit, reported as
	// message.max.bytes; 0 means the core's default.
	MaxMessageBytes int
	// MaxRequestBytes bounds one request; a larger size prefix closes the
	// connection, as Kafka's socket.request.max.bytes does. 0 means 100 MiB.
	MaxRequestBytes int
	// DisableAutoCreate turns off creating topics on first use (Metadata
	// with auto creation allowed); Kafka's auto.create.topics.enable.
	DisableAutoCreate bool
	// DefaultPartitions is the partition count of auto-created topics and
	// of CreateTopics with -1 partitions; 0 means 1.
	DefaultPartitions int
	// InitialRebalanceDelay is Kafka's group.initial.rebalance.delay.ms:
	// how long an empty group waits for more members before its first
	// rebalance completes. 0 completes as soon as every member has joined.
	InitialRebalanceDelay time.Duration
	// MinSessionTimeout and MaxSessionTimeout bound a member's session
	// timeout (group.min/max.session.timeout.ms); 0 means 6s and 30m.
	MinSessionTimeout, MaxSessionTimeout time.Duration
	// Alarms hold produce requests while the memory or disk alarm is
	// raised (see alarm.go); nil means no alarms.
	Alarms *alarm.Monitor
	// Clock drives group sessions, rebalance deadlines, transaction
	// timeouts and marker timestamps; nil means the wall clock. Pass the
	// broker's clock so both agree.
	Clock clock.Clock
}

// Kafka's default socket.request.max.bytes.
const defaultMaxRequestBytes = 100 << 20

// Server serves the Kafka protocol on one listener.
type Server struct {
	cfg    Config
	b      *broker.Broker
	log    *slog.Logger
	groups *coordinator
	prod   *producers
	txns   *txnCoordinator
	host   string
	port   int32
	metric *metrics

	tcp    *tcpserve.Server
	ctx    context.Context // ended by Shutdown once draining is over
	cancel context.CancelFunc
	// drain ends when Shutdown starts: long polls and group joins answer
	// at once with what they have, so connections can finish.
	drain       context.Context
	cancelDrain context.CancelFunc
}

// New builds a server; it starts nothing until Serve.
func New(cfg Config) (*Server, error) {
	if cfg.Broker == nil {
		return nil, errors.New("kafka: a broker is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = defaultMaxRequestBytes
	}
	if cfg.DefaultPartitions <= 0 {
		cfg.DefaultPartitions = 1
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.MinSessionTimeout <= 0 {
		cfg.MinSessionTimeout = 6 * time.Second
	}
	if cfg.MaxSessionTimeout <= 0 {
		cfg.MaxSessionTimeout = 30 * time.Minute
	}
	host, port, err := advertised(cfg.Addr, cfg.AdvertisedAddr)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	drain, cancelDrain := context.WithCancel(ctx)
	s := &Server{
		drain:       drain,
		cancelDrain: cancelDrain,
		cfg:         cfg,
		b:           cfg.Broker,
		log:         cfg.Logger,
		host:        host,
		port:        port,
		metric:      m,
		ctx:         ctx,
		cancel:      cancel,
	}
	s.groups = newCoordinator(s)
	s.prod = newProducers(s.b)
	s.txns = newTxnCoordinator(s)
	s.tcp = tcpserve.New(func(nc net.Conn) tcpserve.Conn { return newConn(s, nc) }, cfg.Connections)
	return s, nil
}

// now is the protocol time: the injected clock's.
func (s *Server) now() time.Time { return s.cfg.Clock.Now() }

// Serve accepts connections until Shutdown.
func (s *Server) Serve(l net.Listener) error { return s.tcp.Serve(l) }

// Shutdown closes the listeners, lets connections finish the requests they
// are answering, and cuts them when ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	// Idle connections stop reading at once; busy ones stop after the
	// request in hand. Long polls and joins answer with what they have.
	s.tcp.Stop()
	s.cancelDrain()
	s.groups.close()
	err := s.tcp.Wait(ctx, s.cancel) // cancel ends long polls and waits
	s.cancel()
	return err
}
