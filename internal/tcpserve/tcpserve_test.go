package tcpserve_test

import (
	"bufio"
	"context"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/tcpserve"
)

// echoConn echoes lines until drained or cut.
type echoConn struct {
	nc      net.Conn
	drained chan struct{}
}

func (c *echoConn) Serve() {
	sc := bufio.NewScanner(c.nc)
	for sc.Scan() {
		c.nc.Write(append(sc.Bytes(), '\n'))
	}
	c.nc.Close()
}

func (c *echoConn) Drain()       { close(c.drained) }
func (c *echoConn) Close() error { return c.nc.Close() }

type gauge struct{ n atomic.Int64 }

func (g *gauge) Inc() { g.n.Add(1) }
func (g *gauge) Dec() { g.n.Add(-1) }

func TestServeCountsConnectionsAndShutdownCutsThemAtTheDeadline(t *testing.T) {
	var g gauge
	var last atomic.Pointer[echoConn]
	s := tcpserve.New(func(nc net.Conn) tcpserve.Conn {
		c := &echoConn{nc: nc, drained: make(chan struct{})}
		last.Store(c)
		return c
	}, &g)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()

	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	client.Write([]byte("ping\n"))
	if line, err := bufio.NewReader(client).ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("echo = %q, %v", line, err)
	}
	if g.n.Load() != 1 || len(s.Conns()) != 1 {
		t.Fatalf("gauge %d, conns %d; want 1 and 1", g.n.Load(), len(s.Conns()))
	}

	// The echo connection ignores Drain, so Shutdown must cut it when
	// the deadline passes.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	s.Stop()
	if err := s.Wait(ctx, nil); err != context.DeadlineExceeded {
		t.Fatalf("Wait = %v, want the deadline", err)
	}
	select {
	case <-last.Load().drained:
	default:
		t.Fatal("Stop did not drain the open connection")
	}
	if err := <-served; err != net.ErrClosed {
		t.Fatalf("Serve returned %v, want net.ErrClosed", err)
	}
	if g.n.Load() != 0 {
		t.Fatalf("gauge %d after shutdown, want 0", g.n.Load())
	}
	if err := s.Serve(l); err != net.ErrClosed {
		t.Fatalf("Serve after shutdown = %v, want net.ErrClosed", err)
	}
}

// emfileListener fails its first Accept as a process out of file
// descriptors does, then accepts normally.
type emfileListener struct {
	net.Listener
	failed atomic.Bool
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if !l.failed.Swap(true) {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

func TestServeBacksOffWhenOutOfFileDescriptors(t *testing.T) {
	s := tcpserve.New(func(nc net.Conn) tcpserve.Conn {
		return &echoConn{nc: nc, drained: make(chan struct{})}
	}, nil)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &emfileListener{Listener: inner}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()

	client, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	client.SetDeadline(time.Now().Add(10 * time.Second))
	client.Write([]byte("ping\n"))
	if line, err := bufio.NewReader(client).ReadString('\n'); err != nil || line != "ping\n" {
		select {
		case err := <-served:
			t.Fatalf("Serve gave up on EMFILE: %v", err)
		default:
			t.Fatalf("echo = %q, %v", line, err)
		}
	}
	if !l.failed.Load() {
		t.Fatal("the listener never failed: the test did not test anything")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	s.Stop()
	s.Wait(ctx, nil)
	if err := <-served; err != net.ErrClosed {
		t.Fatalf("Serve returned %v, want net.ErrClosed", err)
	}
}
