// Package server is Gannet's composition root. It turns a config.Config into
// a running broker: it opens the core with metrics as its observer, binds the
// protocol listeners and the HTTP listener, hands each listener to its
// front-end, and on shutdown drains them and closes the core, which fsyncs.
//
// Besides the entry points (cmd/gannet, embedded), which only load and pass
// on a config.Config, it is the only package that knows every other part
// exists.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gannet-mq/gannet/internal/alarm"
	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/clock"
	"github.com/gannet-mq/gannet/internal/config"
	"github.com/gannet-mq/gannet/internal/httpapi"
	"github.com/gannet-mq/gannet/internal/metrics"
)

// Addrs are the addresses a started server actually listens on. A listener
// that is turned off, or that has no front-end in the server's table, has "".
type Addrs struct {
	AMQP  string
	Kafka string
	Redis string
	SQS   string
	HTTP  string
}

// lifecycle is where a Server is between New and Shutdown.
type lifecycle int

const (
	created lifecycle = iota
	started
	stopped
)

// Server runs one broker and its listeners. Start it once, then Shutdown.
type Server struct {
	cfg          config.Config
	logger       *slog.Logger
	registry     *prometheus.Registry
	metrics      *metrics.Metrics
	alarms       *alarm.Monitor
	constructors map[string]NewFrontend

	// core is read by scrapes and readiness probes on HTTP goroutines.
	core     atomic.Pointer[broker.Broker]
	draining atomic.Bool

	mu         sync.Mutex // guards the fields below
	state      lifecycle
	addrs      Addrs
	frontends  []runningFrontend
	httpServer *http.Server

	serving sync.WaitGroup
	// serveFailures receives the first unexpected Serve error, which makes
	// Run shut the server down.
	serveFailures chan error
}

type runningFrontend struct {
	protocol string
	frontend Frontend
	listener net.Listener
}

// New validates cfg and prepares a server. It opens nothing: Start opens the
// data directory and the listeners.
func New(cfg config.Config, logger *slog.Logger) (*Server, error) {
	return newServer(cfg, logger, builtFrontends())
}

func newServer(cfg config.Config, logger *slog.Logger, constructors map[string]NewFrontend) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:           cfg,
		logger:        logger,
		registry:      prometheus.NewRegistry(),
		constructors:  constructors,
		serveFailures: make(chan error, 1),
	}
	s.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// The broker needs its observer before it exists, so scrape-time stats
	// go through the pointer that Start fills in.
	s.metrics = metrics.New(s.registry, metrics.StatsFunc(func() broker.Stats {
		if core := s.core.Load(); core != nil {
			return core.Stats()
		}
		return broker.Stats{}
	}))
	alarms, err := alarm.New(alarm.Config{
		DataDir:             cfg.DataDir,
		DiskFreeLimit:       uint64(cfg.DiskFreeLimit),
		MemoryLimit:         uint64(cfg.MemoryHighWatermarkBytes),
		MemoryHighWatermark: cfg.MemoryHighWatermark,
		Logger:              logger.With("component", "alarm"),
		Registerer:          s.registry,
	})
	if err != nil {
		return nil, fmt.Errorf("server: building the resource alarms: %w", err)
	}
	s.alarms = alarms
	return s, nil
}

// Start opens the broker and every configured listener, then serves in the
// background. ctx bounds only the start-up. If any step fails, Start undoes
// the others and returns the error; Shutdown is then not needed.
func (s *Server) Start(ctx context.Context) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != created {
		return errors.New("server: Start called on a server that was already started; create a new Server")
	}

	options, err := brokerOptions(s.cfg, s.logger.With("component", "broker"), s.metrics)
	if err != nil {
		return err
	}
	if options.Clock == nil {
		// One clock value for the core and the front-ends, so protocol
		// times (idle, sessions, auto ids) agree with the core's leases.
		options.Clock = clock.Real()
	}
	if err := os.MkdirAll(s.cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("server: creating data directory: %w; check --data-dir and its permissions", err)
	}
	core, err := broker.Open(options)
	if err != nil {
		return fmt.Errorf("server: opening the broker in %s: %w", s.cfg.DataDir, err)
	}
	s.core.Store(core)
	// Measure before any client connects, then once a second.
	s.alarms.Start()

	var listeners []net.Listener
	defer func() {
		if err == nil {
			return
		}
		s.alarms.Stop()
		for _, l := range listeners {
			l.Close()
		}
		s.core.Store(nil)
		if closeErr := core.Close(); closeErr != nil {
			err = errors.Join(err, fmt.Errorf("server: closing the broker after a failed start: %w", closeErr))
		}
		s.frontends, s.httpServer, s.addrs = nil, nil, Addrs{}
	}()
	var listenConfig net.ListenConfig
	listen := func(protocol, flag, addr string) (net.Listener, error) {
		l, err := listenConfig.Listen(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("server: listening for %s on %s: %w; free the port or change %s (an empty value turns it off)",
				protocol, addr, err, flag)
		}
		listeners = append(listeners, l)
		return l, nil
	}

	for _, p := range protocolListeners(s.cfg) {
		if p.addr == "" {
			s.logger.Debug("listener turned off", "protocol", p.protocol)
			continue
		}
		construct, built := s.constructors[p.protocol]
		if !built {
			s.logger.Info("listener not started: no front-end for this protocol", "protocol", p.protocol, "addr", p.addr)
			continue
		}
		l, err := listen(p.protocol, p.flag, p.addr)
		if err != nil {
			return err
		}
		frontend, err := construct(FrontendDeps{
			Broker:          core,
			Logger:          s.logger.With("component", p.protocol),
			Registerer:      s.registry,
			Connections:     s.metrics.Connections(p.protocol),
			Addr:            l.Addr(),
			MaxMessageBytes: s.cfg.MaxMessageBytes,
			AdvertisedAddr:  s.cfg.KafkaAdvertisedAddr,
			Alarms:          s.alarms,
			Clock:           options.Clock,
		})
		if err != nil {
			return fmt.Errorf("server: building the %s front-end: %w", p.protocol, err)
		}
		s.frontends = append(s.frontends, runningFrontend{protocol: p.protocol, frontend: frontend, listener: l})
		s.setAddr(p.protocol, l.Addr().String())
	}

	var httpListener net.Listener
	if s.cfg.HTTPAddr != "" {
		handler, err := httpapi.New(httpapi.Options{Gatherer: s.registry, Ready: s.ready, Logger: s.logger.With("component", "http")})
		if err != nil {
			return fmt.Errorf("server: building the HTTP handler: %w", err)
		}
		if httpListener, err = listen("http", "--http-addr", s.cfg.HTTPAddr); err != nil {
			return err
		}
		s.httpServer = &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(s.logger.With("component", "http").Handler(), slog.LevelWarn),
		}
		s.addrs.HTTP = httpListener.Addr().String()
	}

	// Everything is bound: from here on nothing can fail, so serving starts.
	for _, f := range s.frontends {
		s.serve(f.protocol, func() error { return f.frontend.Serve(f.listener) })
	}
	if s.httpServer != nil {
		s.serve("http", func() error { return s.httpServer.Serve(httpListener) })
	}
	s.state = started
	if options.Fsync != broker.FsyncAlways {
		s.logger.Warn("fsync is not always: a crash can lose messages that were already acknowledged",
			"fsync", options.Fsync.String(), "fsync_interval", s.cfg.FsyncInterval)
	}
	memoryLimit, diskFreeLimit := s.alarms.Limits()
	s.logger.Info("gannet started", "data_dir", s.cfg.DataDir, "fsync", options.Fsync.String(),
		"amqp", s.addrs.AMQP, "kafka", s.addrs.Kafka, "redis", s.addrs.Redis, "sqs", s.addrs.SQS, "http", s.addrs.HTTP,
		"memory_limit", memoryLimit, "disk_free_limit", diskFreeLimit)
	return nil
}

func (s *Server) setAddr(protocol, addr string) {
	switch protocol {
	case "amqp":
		s.addrs.AMQP = addr
	case "kafka":
		s.addrs.Kafka = addr
	case "redis":
		s.addrs.Redis = addr
	case "sqs":
		s.addrs.SQS = addr
	}
}

// serve runs one Serve loop and reports an unexpected end of it.
func (s *Server) serve(name string, serve func() error) {
	s.serving.Go(func() {
		err := serve()
		if err == nil || errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) || s.draining.Load() {
			return
		}
		err = fmt.Errorf("server: the %s listener stopped serving: %w", name, err)
		s.logger.Error("listener failed", "listener", name, "error", err)
		select {
		case s.serveFailures <- err:
		default: // one failure is enough to stop the server
		}
	})
}

// ready is the /readyz check.
func (s *Server) ready() error {
	if s.draining.Load() {
		return errors.New("shutting down")
	}
	core := s.core.Load()
	if core == nil {
		return errors.New("the broker is not open")
	}
	return core.Ready()
}

// Addrs returns the bound addresses; they are set once Start returns.
func (s *Server) Addrs() Addrs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs
}

// Run starts the server and serves until ctx is cancelled (SIGTERM, SIGINT)
// or a listener fails, then shuts down within cfg.ShutdownTimeout.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	var failure error
	select {
	case <-ctx.Done():
		s.logger.Info("shutting down", "reason", context.Cause(ctx), "timeout", s.cfg.ShutdownTimeout)
	case failure = <-s.serveFailures:
		s.logger.Error("shutting down after a listener failed", "error", failure)
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	return errors.Join(failure, s.Shutdown(shutdownCtx))
}
