// Package amqpclient is the load generator's AMQP 0-9-1 client: one
// connection with one channel that publishes with confirms and consumes with
// manual acks, and nothing else. It exists so that the client's CPU does not
// crowd the broker it measures on a small machine: amqp091-go spends about
// 7 µs per message on a publish, its confirm and its delivery (goroutine
// hand-offs, a channel per delivery, several allocations per frame), as much
// as the broker itself. This client reads frames into one reused buffer and
// calls its handlers on the reading goroutine. Every broker measured gets the
// same client.
//
// It speaks the protocol as the specification and RabbitMQ define it (PLAIN
// authentication, frame-max from connection.tune, heartbeats declined), and
// fails the connection on anything it does not expect rather than guess.
package amqpclient

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

// channelID is the one channel every connection opens.
const channelID = 1

// closeTimeout bounds how long Close waits for the broker's close-ok.
const closeTimeout = 2 * time.Second

// ErrClosed is the error of a connection closed by Close.
var ErrClosed = errors.New("amqpclient: connection closed")

// Conn is one connection and its channel. Publish, Ack and the synchronous
// methods may be called from any goroutine; the handlers in Options run on
// the connection's reading goroutine, one call at a time.
type Conn struct {
	nc       net.Conn
	r        *bufio.Reader
	frameMax uint32

	wmu     sync.Mutex // serialises writes; the fields below are only used under it
	scratch []byte
	publish wire.BasicPublish
	header  wire.ContentHeader
	ack     wire.BasicAck

	rpcMu   sync.Mutex       // one synchronous method at a time
	replies chan wire.Method // the answers to them, from the reader

	onConfirm func(tag uint64, multiple, ack bool) // set before the reader starts
	onDeliver func(tag uint64, body []byte)
	inAck     wire.BasicAck  // the reader's, decoded into without allocating
	inNack    wire.BasicNack // the reader's

	failOnce sync.Once
	err      error         // why the connection ended; read after done is closed
	done     chan struct{} // closed when the connection has ended
	readDone chan struct{} // closed when the reader has returned
}

// Options are a connection's credentials, socket and handlers.
type Options struct {
	User, Password string // PLAIN credentials; guest/guest when both are empty

	// Conn, when not nil, is a connection already dialled to the broker
	// (the load generator passes one that coalesces writes).
	Conn net.Conn

	// OnConfirm is called for every basic.ack (ack true) and basic.nack the
	// broker sends after ConfirmSelect, with the delivery tag it names and
	// its multiple flag; publishes are numbered from 1 in the order Publish
	// was called.
	OnConfirm func(tag uint64, multiple, ack bool)

	// OnDeliver is called for every delivery to the channel's consumers.
	// body is valid only until it returns.
	OnDeliver func(tag uint64, body []byte)
}

// Dial connects to addr and opens channel 1 on the virtual host "/".
func Dial(addr string, opt Options) (*Conn, error) {
	nc := opt.Conn
	if nc == nil {
		var err error
		if nc, err = net.DialTimeout("tcp", addr, 30*time.Second); err != nil {
			return nil, err
		}
	}
	if opt.User == "" && opt.Password == "" {
		opt.User, opt.Password = "guest", "guest"
	}
	c := &Conn{nc: nc, r: bufio.NewReaderSize(nc, 64<<10), replies: make(chan wire.Method, 1),
		onConfirm: opt.OnConfirm, onDeliver: opt.OnDeliver,
		done: make(chan struct{}), readDone: make(chan struct{})}
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	if err := c.handshake(opt.User, opt.Password); err != nil {
		nc.Close()
		return nil, fmt.Errorf("amqp handshake with %s: %w", addr, err)
	}
	_ = nc.SetDeadline(time.Time{})
	go c.read()
	if _, err := c.call(&wire.ChannelOpen{}, &wire.ChannelOpenOK{}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// handshake runs connection.start to connection.open-ok on the bare socket.
func (c *Conn) handshake(user, password string) error {
	if _, err := c.nc.Write([]byte(wire.ProtocolHeader)); err != nil {
		return err
	}
	var start wire.ConnectionStart
	if err := c.expect(&start); err != nil {
		return err
	}
	props := wire.Table{"product": "gannet-bench", "capabilities": wire.Table{"publisher_confirms": true}}
	err := c.send(&wire.ConnectionStartOK{ClientProperties: props, Mechanism: "PLAIN",
		Response: "\x00" + user + "\x00" + password, Locale: "en_US"}, 0)
	if err != nil {
		return err
	}
	var tune wire.ConnectionTune
	if err := c.expect(&tune); err != nil {
		return err
	}
	c.frameMax = tune.FrameMax
	if c.frameMax == 0 {
		c.frameMax = 128 << 10
	}
	// Heartbeat 0 declines heartbeats: every run is short and never idle.
	if err := c.send(&wire.ConnectionTuneOK{ChannelMax: 1, FrameMax: c.frameMax}, 0); err != nil {
		return err
	}
	if err := c.send(&wire.ConnectionOpen{VirtualHost: "/"}, 0); err != nil {
		return err
	}
	return c.expect(&wire.ConnectionOpenOK{})
}

// expect reads the next frame during the handshake and decodes it into m.
func (c *Conn) expect(m wire.Method) error {
	f, err := wire.ReadFrame(c.r, wire.FrameMinSize*32)
	if err != nil {
		return err
	}
	got, err := wire.ParseMethodFrame(f.Payload)
	if err != nil {
		return err
	}
	if closed, ok := got.(*wire.ConnectionClose); ok {
		return closeError("connection", closed.ReplyCode, closed.ReplyText)
	}
	if got.ClassID() != m.ClassID() || got.MethodID() != m.MethodID() {
		return fmt.Errorf("expected %s, got %s", m.Name(), got.Name())
	}
	return m.DecodeArgs(f.Payload[4:])
}

// send writes one method frame on channel ch.
func (c *Conn) send(m wire.Method, ch uint16) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	buf, err := wire.AppendMethodFrame(c.scratch[:0], ch, m)
	if err != nil {
		return err
	}
	c.scratch = buf
	return c.write(buf)
}

// call sends m on the channel and waits for the broker's answer, which
// must be the method want names (only its ids are read); the answer is
// returned as the reader decoded it.
func (c *Conn) call(m, want wire.Method) (wire.Method, error) {
	c.rpcMu.Lock()
	defer c.rpcMu.Unlock()
	if err := c.send(m, channelID); err != nil {
		return nil, err
	}
	select {
	case got := <-c.replies:
		if got.ClassID() != want.ClassID() || got.MethodID() != want.MethodID() {
			err := fmt.Errorf("%s answered with %s", m.Name(), got.Name())
			c.fail(err)
			return nil, err
		}
		return got, nil
	case <-c.done:
		return nil, c.err
	}
}

// Done is closed when the connection has ended; Err then says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended, or nil while it is open.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// fail ends the connection with err, once: the socket is closed so the
// reader returns, and waiters on Done wake.
func (c *Conn) fail(err error) {
	c.failOnce.Do(func() {
		c.err = err
		close(c.done)
		c.nc.Close()
	})
}

// Close closes the connection politely (connection.close, then the broker's
// close-ok, for at most closeTimeout) and returns once the reader has
// stopped, so no handler runs after it. It returns the error that ended the
// connection before, if one did.
func (c *Conn) Close() error {
	select {
	case <-c.done:
	default:
		if err := c.send(&wire.ConnectionClose{ReplyCode: wire.ReplySuccess, ReplyText: "bye"}, 0); err == nil {
			select {
			case <-c.done:
			case <-time.After(closeTimeout):
			}
		}
		c.fail(ErrClosed)
	}
	<-c.readDone
	if errors.Is(c.err, ErrClosed) {
		return nil
	}
	return c.err
}

// closeError describes a channel.close or connection.close from the broker.
func closeError(scope string, code uint16, text string) error {
	return fmt.Errorf("broker closed the %s: %d %s", scope, code, text)
}
