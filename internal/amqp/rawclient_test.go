package amqp

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

// rawClient speaks AMQP frame by frame, to send what real clients never do.
type rawClient struct {
	t  testing.TB
	nc net.Conn
	r  *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawClient{t: t, nc: nc, r: bufio.NewReader(nc)}
}

// handshake opens a connection and channel 1.
func (c *rawClient) handshake() {
	c.t.Helper()
	c.write([]byte(wire.ProtocolHeader))
	c.expect(&wire.ConnectionStart{})
	c.send(0, &wire.ConnectionStartOK{Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US"})
	c.expect(&wire.ConnectionTune{})
	c.send(0, &wire.ConnectionTuneOK{ChannelMax: 10, FrameMax: 4096})
	c.send(0, &wire.ConnectionOpen{VirtualHost: "/"})
	c.expect(&wire.ConnectionOpenOK{})
	c.send(1, &wire.ChannelOpen{})
	c.expect(&wire.ChannelOpenOK{})
}

func (c *rawClient) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) send(ch uint16, m wire.Method) {
	c.t.Helper()
	b, err := wire.AppendMethodFrame(nil, ch, m)
	if err != nil {
		c.t.Fatal(err)
	}
	c.write(b)
}

// read returns the next method, skipping heartbeats.
func (c *rawClient) read() (uint16, wire.Method) {
	c.t.Helper()
	for {
		f, err := wire.ReadFrame(c.r, 1<<20)
		if err != nil {
			c.t.Fatalf("reading: %v", err)
		}
		if f.Type != wire.FrameMethod {
			continue
		}
		m, err := wire.ParseMethodFrame(f.Payload)
		if err != nil {
			c.t.Fatal(err)
		}
		return f.Channel, m
	}
}

func (c *rawClient) expect(want wire.Method) wire.Method {
	c.t.Helper()
	_, m := c.read()
	if m.ClassID() != want.ClassID() || m.MethodID() != want.MethodID() {
		c.t.Fatalf("got %s %+v, want %s", m.Name(), m, want.Name())
	}
	return m
}

// expectConnectionClose checks the close's code, answers it, and checks
// that the server hangs up.
func (c *rawClient) expectConnectionClose(code uint16) {
	c.t.Helper()
	m := c.expect(&wire.ConnectionClose{}).(*wire.ConnectionClose)
	if m.ReplyCode != code {
		c.t.Fatalf("connection.close %d %q, want %d", m.ReplyCode, m.ReplyText, code)
	}
	c.send(0, &wire.ConnectionCloseOK{})
	c.expectEOF()
}

func (c *rawClient) expectChannelClose(code uint16) *wire.ChannelClose {
	c.t.Helper()
	m := c.expect(&wire.ChannelClose{}).(*wire.ChannelClose)
	if m.ReplyCode != code {
		c.t.Fatalf("channel.close %d %q, want %d", m.ReplyCode, m.ReplyText, code)
	}
	return m
}

func (c *rawClient) expectEOF() {
	c.t.Helper()
	buf := make([]byte, 64)
	for {
		if _, err := c.r.Read(buf); err != nil {
			return
		}
	}
}
