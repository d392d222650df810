package amqp

import (
	"bufio"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gannet-mq/gannet/internal/alarm"
	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

// handshakeTimeout bounds the time from accept to connection.open.
const handshakeTimeout = 10 * time.Second

// closeTimeout is how long the server waits for connection.close-ok.
const closeTimeout = 3 * time.Second

// conn is one client connection. The reader goroutine (serve) owns the
// channel map and all method handling; other goroutines only write.
type conn struct {
	s   *Server
	nc  net.Conn
	id  string
	r   *bufio.Reader
	out *outWriter

	frameMax   uint32
	channelMax uint16
	heartbeat  time.Duration
	caps       wire.Table // client capabilities

	channels map[uint16]*channel
	lastRead atomic.Int64 // Unix nanoseconds of a recent frame read (readLoop says how recent)
	closing  bool         // connection.close sent, waiting for close-ok

	lastTimeoutCheck time.Time

	// blockedNow says connection.blocked was sent and connection.unblocked
	// not yet; only the reader goroutine, which holds publishes, uses it.
	blockedNow bool
	// publishHeld is set while the reader holds a publish for an alarm:
	// the client's silence is then ours, so heartbeats do not count it.
	publishHeld atomic.Bool
	// cut is closed when the server drains or cuts the connection, so a
	// held publish stops waiting for the alarm to clear.
	cut     chan struct{}
	cutOnce sync.Once

	done     chan struct{}
	doneOnce sync.Once
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{
		s: s, nc: nc,
		id:         "amqp-" + strconv.FormatUint(s.nextID.Add(1), 10) + "-" + randomName("")[:8],
		r:          bufio.NewReaderSize(nc, 64<<10),
		out:        newOutWriter(nc),
		frameMax:   s.cfg.FrameMax,
		channelMax: s.cfg.ChannelMax,
		channels:   make(map[uint16]*channel),
		done:       make(chan struct{}),
		cut:        make(chan struct{}),
	}
	return c
}

// Serve runs the connection until the client or the server ends it.
func (c *conn) Serve() {
	go c.out.run()
	defer func() {
		// Close the output first: a consumer waiting for room in it must
		// give up, or teardown would wait for it forever.
		c.out.close()
		c.teardown()
		select {
		case <-c.out.done:
		case <-time.After(closeTimeout):
		}
		c.nc.Close()
	}()
	c.nc.SetReadDeadline(time.Now().Add(handshakeTimeout))
	if err := wire.ReadProtocolHeader(c.r); err != nil {
		if errors.Is(err, wire.ErrProtocolHeaderMismatch) {
			// Tell the client which protocol we speak, then hang up.
			buf := c.out.lock()
			c.out.unlock(append(buf, wire.ProtocolHeader...))
		}
		return
	}
	if err := c.handshake(); err != nil {
		var ae *amqpError
		if errors.As(err, &ae) {
			c.sendConnectionClose(ae)
			c.awaitCloseOK()
		}
		return
	}
	c.nc.SetReadDeadline(time.Time{})
	c.lastRead.Store(time.Now().UnixNano())
	if c.heartbeat > 0 {
		go c.heartbeats()
	}
	c.readLoop()
}

// readLoop reads and handles frames until the connection ends.
func (c *conn) readLoop() {
	buf := make([]byte, c.frameMax)
	for frames := 1; ; frames++ {
		f, err := wire.ReadFrameInto(c.r, c.frameMax, buf)
		if err != nil {
			var we *wire.Error
			if errors.As(err, &we) && !c.closing {
				c.sendConnectionClose(asAMQPError(err, nil))
				c.awaitCloseOK()
			}
			return
		}
		// The clock serves only heartbeats and consumer timeouts, which
		// count in seconds, and reading it costs more than a small frame:
		// read it once the buffered input is used up, or every 64 frames.
		if c.r.Buffered() == 0 || frames%64 == 0 {
			now := time.Now()
			c.lastRead.Store(now.UnixNano())
			c.checkConsumerTimeouts(now)
		}
		if err := c.handleFrame(f); err != nil {
			if errors.Is(err, errConnectionDone) {
				return
			}
			ae := asAMQPError(err, nil)
			if !ae.connectionLevel() {
				// A soft error outside a channel still ends the connection.
				ae = &amqpError{code: wire.ReplyInternalError, text: ae.text}
			}
			c.sendConnectionClose(ae)
			c.awaitCloseOK()
			return
		}
	}
}

// errConnectionDone ends the read loop after a clean close.
var errConnectionDone = errors.New("amqp: connection closed")

func (c *conn) handleFrame(f wire.Frame) error {
	if f.Type == wire.FrameHeartbeat {
		return nil
	}
	if f.Channel == 0 {
		if f.Type != wire.FrameMethod {
			return newError(wire.ReplyUnexpectedFrame, "content frame on channel 0")
		}
		m, err := wire.ParseMethodFrame(f.Payload)
		if err != nil {
			return err
		}
		return c.handleConnectionMethod(m)
	}
	if c.closing {
		return nil // everything but connection.close-ok is ignored now
	}
	if f.Channel > c.channelMax {
		return newError(wire.ReplyChannelError, "channel %d is above channel_max %d", f.Channel, c.channelMax)
	}
	ch := c.channels[f.Channel]
	if ch == nil {
		if f.Type != wire.FrameMethod {
			return newError(wire.ReplyUnexpectedFrame, "frame type %d on channel %d, which is not open", f.Type, f.Channel)
		}
		m, err := wire.ParseMethodFrame(f.Payload)
		if err != nil {
			return err
		}
		if _, ok := m.(*wire.ChannelOpen); !ok {
			return &amqpError{code: wire.ReplyChannelError, text: "expected 'channel.open'", classID: m.ClassID(), methodID: m.MethodID()}
		}
		ch = newChannel(c, f.Channel)
		c.channels[f.Channel] = ch
		return c.send(f.Channel, &wire.ChannelOpenOK{})
	}
	return ch.handleFrame(f)
}

func (c *conn) handleConnectionMethod(m wire.Method) error {
	switch m := m.(type) {
	case *wire.ConnectionClose:
		c.closing = true
		c.teardown()
		c.send(0, &wire.ConnectionCloseOK{})
		return errConnectionDone
	case *wire.ConnectionCloseOK:
		if c.closing {
			return errConnectionDone
		}
		return newError(wire.ReplyCommandInvalid, "connection.close-ok without connection.close")
	case *wire.ConnectionBlocked, *wire.ConnectionUnblocked:
		return nil
	case *wire.ConnectionUpdateSecret:
		return c.send(0, &wire.ConnectionUpdateSecretOK{})
	default:
		if c.closing {
			return nil
		}
		return &amqpError{code: wire.ReplyCommandInvalid, text: "unexpected method " + m.Name() + " on channel 0",
			classID: m.ClassID(), methodID: m.MethodID()}
	}
}

// send writes one method frame.
func (c *conn) send(channel uint16, m wire.Method) error {
	buf, _ := c.out.lockBelow(hardWriteLimit)
	buf, err := wire.AppendMethodFrame(buf, channel, m)
	c.out.unlock(buf)
	return err
}

// sendConnectionClose starts a server-initiated close.
func (c *conn) sendConnectionClose(ae *amqpError) {
	if c.closing {
		return
	}
	c.closing = true
	c.s.log.Debug("closing AMQP connection", "conn", c.id, "code", ae.code, "text", ae.text)
	c.teardown()
	c.send(0, &wire.ConnectionClose{ReplyCode: ae.code, ReplyText: ae.replyText(), FailingClassID: ae.classID, FailingMethodID: ae.methodID})
}

// awaitCloseOK reads until the client confirms the close, or gives up.
func (c *conn) awaitCloseOK() {
	c.nc.SetReadDeadline(time.Now().Add(closeTimeout))
	buf := make([]byte, 4096)
	for {
		f, err := wire.ReadFrameInto(c.r, c.frameMax, buf)
		if err != nil {
			return
		}
		if f.Channel == 0 && f.Type == wire.FrameMethod {
			if m, err := wire.ParseMethodFrame(f.Payload); err == nil {
				switch m.(type) {
				case *wire.ConnectionCloseOK:
					return
				case *wire.ConnectionClose:
					c.send(0, &wire.ConnectionCloseOK{})
					return
				}
			}
		}
	}
}

// teardown closes every channel (releasing unacked deliveries) and deletes
// the connection's exclusive queues. It runs on the reader goroutine.
func (c *conn) teardown() {
	c.doneOnce.Do(func() {
		close(c.done)
		for id, ch := range c.channels {
			ch.shutdown()
			delete(c.channels, id)
		}
		c.s.b.DeleteOwnedBy(c.id)
	})
}

// Drain is Shutdown's request to leave.
func (c *conn) Drain() {
	c.cutOnce.Do(func() { close(c.cut) })
	c.forceClose("broker shutdown")
}

// Close cuts the connection (Shutdown's deadline passed).
func (c *conn) Close() error {
	c.cutOnce.Do(func() { close(c.cut) })
	return c.nc.Close()
}

// forceClose asks the client to leave: connection.close with 320, then the
// socket closes, which ends the reader.
func (c *conn) forceClose(reason string) {
	buf := c.out.lock()
	buf, _ = wire.AppendMethodFrame(buf, 0, &wire.ConnectionClose{ReplyCode: wire.ReplyConnectionForced,
		ReplyText: "CONNECTION_FORCED - " + reason})
	c.out.unlock(buf)
	go func() {
		select {
		case <-c.out.done:
		case <-time.After(500 * time.Millisecond):
		}
		time.Sleep(100 * time.Millisecond)
		c.nc.Close()
	}()
}

// heartbeats sends a heartbeat when the connection has been quiet for half
// the interval and closes it when the client has been silent for two.
func (c *conn) heartbeats() {
	t := time.NewTicker(c.heartbeat / 2)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		now := time.Now()
		// While an alarm holds a publish, the reader is not reading: the
		// client's silence is ours, not a dead peer (RabbitMQ pauses its
		// heartbeat monitor on a blocked connection too).
		if now.Sub(time.Unix(0, c.lastRead.Load())) > 2*c.heartbeat && !c.publishHeld.Load() {
			c.s.log.Info("AMQP client missed heartbeats; closing", "conn", c.id)
			c.nc.Close()
			return
		}
		if now.Sub(c.out.idleSince()) >= c.heartbeat/2 {
			buf := c.out.lock()
			c.out.unlock(wire.AppendHeartbeat(buf))
		}
	}
}

// setBlocked sends connection.blocked (with RabbitMQ's reason, "low on
// memory", "low on disk" or "low on memory & disk") or
// connection.unblocked to clients that announced the capability. Like
// RabbitMQ it sends blocked once per episode, however the reasons change,
// and only to connections that publish.
func (c *conn) setBlocked(raised alarm.Resource) {
	if b, _ := c.caps["connection.blocked"].(bool); !b {
		return
	}
	blocked := raised != 0
	if c.blockedNow == blocked {
		return
	}
	c.blockedNow = blocked
	var m wire.Method = &wire.ConnectionUnblocked{}
	if blocked {
		m = &wire.ConnectionBlocked{Reason: "low on " + raised.String()}
	}
	// Never waits for room: a client that stopped reading must not keep
	// the alarm's notice from the others' buffers.
	buf := c.out.lock()
	buf, _ = wire.AppendMethodFrame(buf, 0, m)
	c.out.unlock(buf)
}

// waitUnblocked holds a publish while a memory or disk alarm is raised, as
// RabbitMQ stops reading from a connection that publishes: the client gets
// connection.blocked now and connection.unblocked when the alarm clears.
// A connection the server drains or cuts stops waiting, and so does one
// whose writer failed (the peer is gone); the publish then goes through,
// as RabbitMQ's first publish after an alarm does.
func (c *conn) waitUnblocked() {
	raised, changed := c.s.cfg.Alarms.Watch()
	if raised == 0 {
		return
	}
	c.publishHeld.Store(true)
	defer c.publishHeld.Store(false)
	for raised != 0 {
		c.setBlocked(raised)
		select {
		case <-changed:
		case <-c.cut:
			return
		case <-c.out.done:
			return
		}
		raised, changed = c.s.cfg.Alarms.Watch()
	}
	c.setBlocked(0)
	c.lastRead.Store(time.Now().UnixNano()) // the silence was ours
}
