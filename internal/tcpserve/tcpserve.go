// Package tcpserve is the accept loop and connection bookkeeping that the
// TCP front-ends (AMQP, Kafka, Redis) share: accept with back-off on
// temporary errors, count connections in the front-end's gauge, and on
// shutdown stop accepting, ask every connection to finish, and cut those
// still open when the deadline passes. It knows no protocol.
package tcpserve

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// Conn is one accepted connection as a front-end runs it.
type Conn interface {
	// Serve runs the connection until it ends.
	Serve()
	// Drain asks the connection to finish what it is doing and end (the
	// protocol's polite goodbye). It must not block.
	Drain()
	// Close cuts the connection at once.
	Close() error
}

// Gauge is the part of a Prometheus gauge the server uses.
type Gauge interface {
	Inc()
	Dec()
}

// Server accepts connections on any number of listeners.
type Server struct {
	newConn     func(net.Conn) Conn
	connections Gauge // may be nil

	mu        sync.Mutex
	closing   bool
	listeners map[net.Listener]struct{}
	conns     map[Conn]struct{}
	wg        sync.WaitGroup
}

// New returns a server that wraps each accepted connection with newConn.
func New(newConn func(net.Conn) Conn, connections Gauge) *Server {
	return &Server{
		newConn: newConn, connections: connections,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[Conn]struct{}),
	}
}

// Serve accepts on l until Shutdown, then returns net.ErrClosed.
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
			if s.Closing() {
				return net.ErrClosed
			}
			// Temporary, not just Timeout: running out of file
			// descriptors (EMFILE, ENFILE) must slow accepting down,
			// not end the front-end, as net/http does too.
			var temporary interface{ Temporary() bool }
			if errors.As(err, &temporary) && temporary.Temporary() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.start(s.newConn(nc), nc)
	}
}

func (s *Server) start(c Conn, nc net.Conn) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	if s.connections != nil {
		s.connections.Inc()
	}
	go func() {
		defer s.wg.Done()
		c.Serve()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		if s.connections != nil {
			s.connections.Dec()
		}
	}()
}

// Closing reports whether Shutdown has begun.
func (s *Server) Closing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Conns returns the open connections.
func (s *Server) Conns() []Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// Stop closes the listeners and drains every connection; it does not wait.
func (s *Server) Stop() {
	s.mu.Lock()
	s.closing = true
	for l := range s.listeners {
		l.Close()
	}
	s.mu.Unlock()
	for _, c := range s.Conns() {
		c.Drain()
	}
}

// Wait blocks until every connection has ended. If ctx ends first it calls
// beforeCut (when not nil), cuts the connections still open, waits for them
// and returns ctx.Err().
func (s *Server) Wait(ctx context.Context, beforeCut func()) error {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		if beforeCut != nil {
			beforeCut()
		}
		for _, c := range s.Conns() {
			c.Close()
		}
		<-done
		return ctx.Err()
	}
}
