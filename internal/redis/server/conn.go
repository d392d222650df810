package server

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/intern"
	"github.com/gannet-mq/gannet/internal/redis/resp"
)

// maxPendingReplies is how many reply bytes a connection gathers before it
// hands them to its writer, even mid-pipeline.
const maxPendingReplies = 1 << 20

// readBufferSize is the initial read buffer: a pipeline of 256 XADDs of
// 1 KiB arrives in two reads.
const readBufferSize = 128 << 10

// conn is one client connection. Its reader goroutine reads a command, runs
// it, and appends the reply to out; at the end of what the client has sent
// (or every maxPendingReplies) it hands out to the connection's writer
// goroutine together with the appends and settlements those replies
// acknowledge. The writer waits until they are durable (one fsync covers
// every XADD handed over meanwhile) and sends the replies, while the reader
// already reads on: a pipeline is never stalled by an fsync per command.
type conn struct {
	s       *Server
	nc      net.Conn
	src     *connSource
	r       *resp.Reader
	id      int64
	created time.Time

	out    []byte
	args   [][]byte
	authed bool
	quit   bool
	// What CLIENT LIST shows of the connection to the others: the
	// connection's goroutine writes these under infoMu and reads them
	// without it, other connections read them under it (infoLine).
	infoMu  sync.Mutex
	ver     resp.Version
	name    string
	libName string
	libVer  string
	// lastCmd changes with every command, so it is an atomic rather than
	// under infoMu.
	lastCmd atomic.Pointer[command]
	// blocked is set while a blocking read waits: CLIENT LIST's flag b
	// and INFO's blocked_clients, read from other connections.
	blocked atomic.Bool

	// adds is the current run of XADDs; they are appended together when
	// another command or the end of the pipeline comes.
	adds  []pendingAdd
	arena []byte
	hdrs  []broker.Header
	pacer broker.Pacer
	// receipts are appends the replies in out acknowledge; latest is the
	// last append per stream not yet known to be durable, which a read
	// waits for so that it sees the connection's own writes.
	receipts  []broker.Receipt
	latest    map[string]broker.Receipt
	syncState bool
	interned  intern.Table // stream keys and field names seen on this connection

	writes    chan outBatch
	queued    atomic.Int32 // batches handed to the writer and not yet sent
	free      chan []byte
	writerErr chan struct{} // closed when the writer fails
	writerEnd chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
}

// outBatch is replies for the writer with what must be durable first.
type outBatch struct {
	out       []byte
	receipts  []broker.Receipt
	syncState bool
}

// connSource feeds the RESP reader; a byte read by the watcher of a blocked
// command is handed back first.
type connSource struct {
	nc    net.Conn
	mu    sync.Mutex
	stash []byte
}

func (s *connSource) Read(p []byte) (int, error) {
	s.mu.Lock()
	if len(s.stash) > 0 {
		n := copy(p, s.stash)
		s.stash = s.stash[n:]
		s.mu.Unlock()
		return n, nil
	}
	s.mu.Unlock()
	return s.nc.Read(p)
}

func newConn(s *Server, nc net.Conn) *conn {
	src := &connSource{nc: nc}
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		s: s, nc: nc, src: src,
		r:         resp.NewReaderSize(src, s.deps.Limits, readBufferSize),
		id:        s.nextID.Add(1),
		created:   s.now(),
		ver:       resp.RESP2,
		authed:    s.deps.Password == "",
		latest:    make(map[string]broker.Receipt),
		writes:    make(chan outBatch, 4),
		free:      make(chan []byte, 4),
		writerErr: make(chan struct{}),
		writerEnd: make(chan struct{}),
		interned:  intern.Table{Max: 1024, MaxLen: 256},
		ctx:       ctx, cancel: cancel,
	}
	return c
}

// Drain ends the connection after the command it is running: a blocked
// read ends at once, and so does a wait for the next command.
func (c *conn) Drain() {
	c.cancel()
	c.nc.SetReadDeadline(time.Now())
}

// Close cuts the connection (Shutdown's deadline passed).
func (c *conn) Close() error { return c.nc.Close() }

// Serve runs the connection until the client or the server ends it.
func (c *conn) Serve() {
	go c.writeLoop()
	defer func() {
		close(c.writes)
		<-c.writerEnd
		c.nc.Close()
		c.cancel()
	}()
	for {
		if c.r.Buffered() == 0 {
			if err := c.flush(); err != nil {
				return
			}
		}
		if c.ctx.Err() != nil {
			c.flush()
			return
		}
		args, err := c.r.ReadCommand(c.args[:0])
		c.args = args
		if err != nil {
			var pe *resp.ProtocolError
			if errors.As(err, &pe) {
				if len(c.adds) > 0 {
					c.appendAdds() // their ids come before the error
				}
				c.out = resp.AppendError(c.out, pe.Reply())
			}
			c.flush()
			return
		}
		c.dispatch(args)
		if c.quit {
			c.flush()
			return
		}
		if len(c.out) > maxPendingReplies {
			if err := c.flush(); err != nil {
				return
			}
		}
	}
}

// settle appends the pending XADDs and waits until they are durable, so
// that the next command sees them.
func (c *conn) settle() error {
	if len(c.adds) > 0 {
		c.appendAdds()
	}
	var err error
	for name, r := range c.latest {
		if e := r.Wait(context.Background()); e != nil && err == nil {
			err = e
		}
		delete(c.latest, name)
	}
	return err
}

// flush appends pending XADDs and hands the replies so far to the writer.
func (c *conn) flush() error {
	if len(c.adds) > 0 {
		c.appendAdds()
	}
	if len(c.out) == 0 && len(c.receipts) == 0 && !c.syncState {
		return nil
	}
	if len(c.receipts) == 0 && !c.syncState && c.queued.Load() == 0 {
		// Nothing to wait for and the writer is idle: write here and save
		// the hand-off to another goroutine, which costs a wake-up per
		// round trip (XREADGROUP and XRANGE replies take this path).
		_, err := c.nc.Write(c.out)
		c.out = c.out[:0]
		return err
	}
	batch := outBatch{out: c.out, receipts: c.receipts, syncState: c.syncState}
	c.queued.Add(1)
	select {
	case c.writes <- batch:
	case <-c.writerErr:
		return errors.New("redis: connection writer failed")
	}
	select {
	case buf := <-c.free:
		c.out = buf[:0]
	default:
		c.out = make([]byte, 0, 64<<10)
	}
	c.receipts = nil
	c.syncState = false
	return nil
}

// writeLoop sends reply batches in order, each once what it acknowledges
// is durable. A failed fsync closes the connection without a reply, so no
// client is told that an entry it wrote is stored when it may not be.
func (c *conn) writeLoop() {
	defer close(c.writerEnd)
	failed := false
	for batch := range c.writes {
		if failed {
			continue
		}
		var err error
		for _, r := range batch.receipts {
			if err = r.Wait(context.Background()); err != nil {
				c.s.log.Error("redis: append not durable; closing the connection", "err", err)
				break
			}
		}
		if err == nil && batch.syncState {
			if err = c.s.deps.Broker.SyncState(context.Background()); err != nil {
				c.s.log.Error("redis: state journal sync failed; closing the connection", "err", err)
			}
		}
		if err == nil && len(batch.out) > 0 {
			_, err = c.nc.Write(batch.out)
		}
		if err != nil {
			failed = true
			close(c.writerErr)
			c.nc.Close()
			continue
		}
		if cap(batch.out) <= 4*maxPendingReplies {
			select {
			case c.free <- batch.out[:0]:
			default:
			}
		}
		c.queued.Add(-1)
	}
}

// block runs wait, a blocking read, after sending every reply so far. It
// watches the socket meanwhile: the client closing it cancels the wait.
func (c *conn) block(timeout time.Duration, wait func(ctx context.Context) error) error {
	if err := c.flush(); err != nil {
		c.quit = true
		return err
	}
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	if timeout > 0 {
		// BLOCK runs on a real timer, not the injected clock: clients set
		// a wall-clock read deadline of the block time plus a margin, so
		// a wait held by a fake clock would only time them out.
		var cancelT context.CancelFunc
		ctx, cancelT = context.WithTimeout(ctx, timeout)
		defer cancelT()
	}
	watching := c.r.Buffered() == 0
	done := make(chan struct{})
	if watching {
		go func() {
			defer close(done)
			var one [1]byte
			n, err := c.nc.Read(one[:])
			if n > 0 {
				c.src.mu.Lock()
				c.src.stash = append(c.src.stash, one[:n]...)
				c.src.mu.Unlock()
				return
			}
			var ne net.Error
			if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
				cancel()
				if err == io.EOF {
					c.quit = true
				}
			}
		}()
	}
	c.blocked.Store(true)
	err := wait(ctx)
	c.blocked.Store(false)
	if watching {
		c.nc.SetReadDeadline(time.Now())
		<-done
		if c.ctx.Err() == nil {
			c.nc.SetReadDeadline(time.Time{})
		}
	}
	return err
}

// answerAddsFirst keeps replies in command order when an XADD is refused
// at once (arity, NOAUTH, bad arguments, an alarm) while the XADDs
// pipelined before it still wait in c.adds for their ids: those are
// appended and answered before the refusal written since mark.
func (c *conn) answerAddsFirst(mark int) {
	if len(c.out) == mark || len(c.adds) == 0 {
		return
	}
	refusal := append([]byte(nil), c.out[mark:]...)
	c.out = c.out[:mark]
	c.appendAdds()
	c.out = append(c.out, refusal...)
}

func (c *conn) dispatch(args [][]byte) {
	var lower [32]byte
	name := args[0]
	cmd := lower[:0] // a longer name is no command: unknown, below
	if len(name) <= len(lower) {
		n := copy(lower[:], name)
		for i := 0; i < n; i++ {
			if ch := lower[i]; ch >= 'A' && ch <= 'Z' {
				lower[i] = ch + 'a' - 'A'
			}
		}
		cmd = lower[:n]
	}
	if string(cmd) != "xadd" && (len(c.adds) > 0 || len(c.latest) > 0) {
		if err := c.settle(); err != nil {
			c.quit = true
			return
		}
	}
	if string(cmd) == "xadd" && len(c.adds) > 0 {
		defer c.answerAddsFirst(len(c.out))
	}
	h, ok := commandTable[string(cmd)]
	if !ok {
		c.unknown(args)
		return
	}
	if !h.arityOK(len(args)) {
		c.errorf("ERR wrong number of arguments for '%s' command", strings.ToLower(string(name)))
		return
	}
	if !c.authed && !h.noAuth {
		c.err("NOAUTH Authentication required.")
		return
	}
	c.lastCmd.Store(h)
	if c.refuseWhileAlarmed(h, args) {
		return
	}
	h.run(c, args)
}
