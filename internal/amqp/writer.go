package amqp

import (
	"net"
	"sync"
	"time"
)

// writeLimit is how much output may wait for the socket before goroutines
// that produce bulk output (consumers) wait. Replies wait only past
// hardWriteLimit, so a client that reads slowly is never cut off from them.
const writeLimit = 1 << 20

// outWriter is a connection's output: goroutines append frames to buf under
// mu, and one goroutine writes whatever has gathered whenever there is
// something, so frames written close together share one syscall and nothing
// waits for a timer.
type outWriter struct {
	nc net.Conn

	mu       sync.Mutex
	buf      []byte
	spare    []byte
	err      error
	closed   bool
	lastSent time.Time
	wake     chan struct{}
	room     *sync.Cond // signalled when buf drains
	done     chan struct{}
}

func newOutWriter(nc net.Conn) *outWriter {
	w := &outWriter{nc: nc, wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.room = sync.NewCond(&w.mu)
	return w
}

// lock takes the buffer for appending; unlock hands it to the writer.
func (w *outWriter) lock() []byte {
	w.mu.Lock()
	return w.buf
}

func (w *outWriter) unlock(buf []byte) {
	w.buf = buf
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// hardWriteLimit bounds output that replies to the client's own requests:
// past it the reader waits too, so a client that sends without ever reading
// meets TCP backpressure instead of growing the server's memory.
const hardWriteLimit = 16 << 20

// lockRoom is lock, but first waits while the buffer is over writeLimit.
func (w *outWriter) lockRoom() ([]byte, bool) { return w.lockBelow(writeLimit) }

// lockBelow is lock, but first waits while the buffer is over limit.
func (w *outWriter) lockBelow(limit int) ([]byte, bool) {
	w.mu.Lock()
	for len(w.buf) > limit && !w.closed && w.err == nil {
		w.room.Wait()
	}
	return w.buf, !w.closed && w.err == nil
}

// run writes until close; it returns when the output has been flushed after
// close, or on the first write error.
func (w *outWriter) run() {
	defer close(w.done)
	for {
		w.mu.Lock()
		for len(w.buf) == 0 && !w.closed {
			w.mu.Unlock()
			<-w.wake
			w.mu.Lock()
		}
		if len(w.buf) == 0 && w.closed {
			w.mu.Unlock()
			return
		}
		out := w.buf
		w.buf = w.spare[:0]
		w.room.Broadcast()
		w.mu.Unlock()

		_, err := w.nc.Write(out)

		w.mu.Lock()
		w.spare = out[:0]
		if cap(w.spare) > 4*writeLimit {
			w.spare = nil
		}
		w.lastSent = time.Now()
		if err != nil {
			w.err = err
			w.closed = true
			w.room.Broadcast()
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
}

// idleSince reports when the writer last sent anything.
func (w *outWriter) idleSince() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		return time.Now()
	}
	return w.lastSent
}

// close flushes what is buffered and stops the writer.
func (w *outWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.room.Broadcast()
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}
