package loadgen

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	return client, server
}

func TestCoalescingConnKeepsOrderAndFlushesOnClose(t *testing.T) {
	client, server := tcpPair(t)
	defer server.Close()
	cc := newCoalescingConn(client)
	var want bytes.Buffer
	for i := 0; i < 5000; i++ {
		chunk := bytes.Repeat([]byte{byte(i)}, 1+i%700)
		want.Write(chunk)
		if n, err := cc.Write(chunk); err != nil || n != len(chunk) {
			t.Fatalf("write %d: n=%d err=%v", i, n, err)
		}
	}
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(server)
		got <- b
	}()
	// Close must send everything still queued before closing.
	if err := cc.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, want.Bytes()) {
			t.Fatalf("received %d bytes, want %d, or in another order", len(b), want.Len())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reader never saw the connection close")
	}
}

func TestCoalescingConnReportsSendErrors(t *testing.T) {
	client, server := tcpPair(t)
	cc := newCoalescingConn(client)
	defer cc.Close()
	server.Close()
	// The peer is gone: a later Write must fail rather than queue forever.
	deadline := time.Now().Add(10 * time.Second)
	chunk := make([]byte, 64<<10)
	for {
		_, err := cc.Write(chunk)
		if err != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("writes to a closed peer kept succeeding")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCoalescingConnCloseGivesUpOnAPeerThatStopsReading(t *testing.T) {
	defer func(d time.Duration) { closeFlushTimeout = d }(closeFlushTimeout)
	closeFlushTimeout = 100 * time.Millisecond
	client, server := tcpPair(t)
	defer server.Close() // never read: the socket buffers fill and the send blocks
	cc := newCoalescingConn(client)
	written := make(chan error, 1)
	go func() {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := cc.Write(chunk); err != nil {
				written <- err
				return
			}
		}
	}()
	// Wait until the queue is full: the sender is stuck and Write waits.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		cc.mu.Lock()
		full := len(cc.buf) >= coalesceLimit
		cc.mu.Unlock()
		if full {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the queue never filled")
		}
	}
	closed := make(chan struct{})
	go func() {
		cc.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close still waiting for a peer that does not read")
	}
	select {
	case err := <-written:
		if err == nil {
			t.Fatal("the blocked Write succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a Write waiting for room never returned after Close")
	}
}
