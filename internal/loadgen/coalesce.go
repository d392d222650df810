package loadgen

import (
	"net"
	"sync"
	"time"
)

// coalescingConn sends what a client writes while its previous write is
// still on its way in one syscall, the way clients built on an output
// queue (RabbitMQ's .NET client 7, its Java client's NIO mode) do. A client
// that flushes after every message, as amqp091-go does after each publish,
// otherwise spends most of its CPU in send(2), on the same cores as the
// broker it measures. Every broker measured gets the same connection.
type coalescingConn struct {
	net.Conn

	mu      sync.Mutex
	room    *sync.Cond // signalled when the buffer drains or the conn fails
	buf     []byte
	spare   []byte
	err     error
	closing bool
	wake    chan struct{}
	done    chan struct{}
}

// coalesceLimit bounds what Write gathers before it waits for the socket.
const coalesceLimit = 1 << 20

// closeFlushTimeout bounds how long Close sends what is queued. amqp091-go
// closes the connection to end it when the broker stops answering (a missed
// heartbeat); a plain connection gives way at once, so this one must not
// wait forever on a peer that no longer reads.
var closeFlushTimeout = 5 * time.Second

func newCoalescingConn(c net.Conn) *coalescingConn {
	cc := &coalescingConn{Conn: c, wake: make(chan struct{}, 1), done: make(chan struct{})}
	cc.room = sync.NewCond(&cc.mu)
	go cc.run()
	return cc
}

// Write queues p for the sender and returns at once, unless the queue is
// full; an error from an earlier send is returned here, and net.ErrClosed
// once Close has begun.
func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	for len(c.buf) >= coalesceLimit && c.err == nil && !c.closing {
		c.room.Wait()
	}
	if c.err == nil && c.closing {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	if c.err != nil {
		c.mu.Unlock()
		return 0, c.err
	}
	c.buf = append(c.buf, p...)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (c *coalescingConn) run() {
	defer close(c.done)
	for {
		c.mu.Lock()
		for len(c.buf) == 0 && !c.closing && c.err == nil {
			c.mu.Unlock()
			<-c.wake
			c.mu.Lock()
		}
		if len(c.buf) == 0 || c.err != nil {
			c.mu.Unlock()
			return
		}
		out := c.buf
		c.buf = c.spare[:0]
		c.room.Broadcast()
		c.mu.Unlock()

		_, err := c.Conn.Write(out)

		c.mu.Lock()
		c.spare = out[:0]
		if err != nil {
			c.err = err
			c.room.Broadcast()
		}
		c.mu.Unlock()
	}
}

// Close sends what is queued, for at most closeFlushTimeout, then closes
// the connection. A Write waiting for room returns net.ErrClosed.
func (c *coalescingConn) Close() error {
	c.mu.Lock()
	c.closing = true
	c.room.Broadcast()
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	// A send stuck on a peer that stopped reading fails at the deadline,
	// which ends the sender.
	_ = c.Conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
	<-c.done
	return c.Conn.Close()
}
