package amqp

import (
	"encoding/binary"
	"io"
	"strings"
	"testing"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

// checkOthersServed proves a healthy client still works after bad input.
func checkOthersServed(t *testing.T, ch *amqp091.Channel) {
	t.Helper()
	publish(t, ch, "", "healthy", amqp091.Publishing{Body: []byte("still here")})
	d, ok, err := ch.Get("healthy", true)
	must(t, err)
	if !ok || string(d.Body) != "still here" {
		t.Fatal("a healthy connection stopped being served")
	}
}

func TestBadInput(t *testing.T) {
	tb := startBroker(t, func(c *Config) { c.MaxMessageBytes = 10_000 })
	_, healthy := tb.channel()
	_, err := healthy.QueueDeclare("healthy", false, false, false, false, nil)
	must(t, err)

	t.Run("wrong protocol header", func(t *testing.T) {
		c := dialRaw(t, tb.addr)
		c.write([]byte("AMQP\x00\x00\x09\x00"))
		got, _ := io.ReadAll(c.r)
		if string(got) != wire.ProtocolHeader {
			t.Fatalf("answered %q", got)
		}
		c = dialRaw(t, tb.addr)
		c.write([]byte("GET / HTTP/1.1\r\n\r\n"))
		got, _ = io.ReadAll(c.r)
		if string(got) != wire.ProtocolHeader {
			t.Fatalf("answered %q", got)
		}
		checkOthersServed(t, healthy)
	})
	t.Run("frame without end octet", func(t *testing.T) {
		c := dialRaw(t, tb.addr)
		c.handshake()
		f := wire.AppendHeartbeat(nil)
		f[len(f)-1] = 0x00
		c.write(f)
		c.expectConnectionClose(wire.ReplyFrameError)
		checkOthersServed(t, healthy)
	})
	t.Run("oversize frame", func(t *testing.T) {
		c := dialRaw(t, tb.addr)
		c.handshake()
		hdr := []byte{wire.FrameBody, 0, 1, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(hdr[3:], 1<<30)
		c.write(hdr)
		c.expectConnectionClose(wire.ReplyFrameError)
		checkOthersServed(t, healthy)
	})
	t.Run("unknown class and method", func(t *testing.T) {
		c := dialRaw(t, tb.addr)
		c.handshake()
		c.write(wire.AppendFrame(nil, wire.FrameMethod, 1, []byte{0, 99, 0, 7}))
		c.expectConnectionClose(wire.ReplyNotImplemented)
		c = dialRaw(t, tb.addr)
		c.handshake()
		c.write(wire.AppendFrame(nil, wire.FrameMethod, 1, []byte{0, 60, 0, 255}))
		c.expectConnectionClose(wire.ReplyNotImplemented)
		checkOthersServed(t, healthy)
	})
	t.Run("method on a closed channel", func(t *testing.T) {
		c := dialRaw(t, tb.addr)
		c.handshake()
		c.send(5, &wire.BasicQos{PrefetchCount: 1})
		c.expectConnectionClose(wire.ReplyChannelError)
		checkOthersServed(t, healthy)
	})
	t.Run("content frame out of place", func(t *testing.T) {
		c := dialRaw(t, tb.addr)
		c.handshake()
		c.write(wire.AppendFrame(nil, wire.FrameBody, 1, []byte("x")))
		c.expectConnectionClose(wire.ReplyUnexpectedFrame)
		checkOthersServed(t, healthy)
	})
	t.Run("message over the size limit", func(t *testing.T) {
		_, ch := tb.channel()
		closed := ch.NotifyClose(make(chan *amqp091.Error, 1))
		publish(t, ch, "", "healthy", amqp091.Publishing{Body: make([]byte, 20_000)})
		e := <-closed
		if e == nil || e.Code != 406 || !strings.Contains(e.Reason, "larger than configured max size") {
			t.Fatalf("channel closed with %v", e)
		}
		checkOthersServed(t, healthy)
	})
	t.Run("reused consumer tag", func(t *testing.T) {
		conn, ch := tb.channel()
		closed := conn.NotifyClose(make(chan *amqp091.Error, 1))
		_, err := ch.Consume("healthy", "dup", false, false, false, false, nil)
		must(t, err)
		ch.Consume("healthy", "dup", false, false, false, false, nil)
		if e := <-closed; e == nil || e.Code != 530 {
			t.Fatalf("connection closed with %v", e)
		}
		checkOthersServed(t, healthy)
	})
	t.Run("malformed arguments", func(t *testing.T) {
		c := dialRaw(t, tb.addr)
		c.handshake()
		// queue.declare whose queue name claims 200 bytes that are not there.
		c.write(wire.AppendFrame(nil, wire.FrameMethod, 1, []byte{0, 50, 0, 10, 0, 0, 200, 'q'}))
		m := c.expect(&wire.ConnectionClose{}).(*wire.ConnectionClose)
		if m.ReplyCode != wire.ReplySyntaxError && m.ReplyCode != wire.ReplyFrameError {
			t.Fatalf("malformed arguments answered with %d %q", m.ReplyCode, m.ReplyText)
		}
		checkOthersServed(t, healthy)
	})
	t.Run("soft errors close only the channel", func(t *testing.T) {
		conn, ch := tb.channel()
		_, err := ch.QueueDeclarePassive("missing", false, false, false, false, nil)
		if amqpCode(err) != 404 {
			t.Fatalf("passive declare of a missing queue: %v", err)
		}
		ch2, err := conn.Channel()
		must(t, err)
		err = ch2.ExchangeDeclare("amq.custom", "direct", false, false, false, false, nil)
		if amqpCode(err) != 403 {
			t.Fatalf("amq.* exchange declare: %v", err)
		}
		ch3, err := conn.Channel()
		must(t, err)
		err = ch3.PublishWithContext(t.Context(), "no-such-exchange", "", false, false, amqp091.Publishing{})
		must(t, err)
		if _, err := ch3.QueueDeclare("", false, true, true, false, nil); amqpCode(err) != 404 {
			t.Fatalf("publish to a missing exchange: %v", err)
		}
		ch4, err := conn.Channel()
		must(t, err)
		if err := ch4.Ack(999, false); err != nil {
			t.Fatal(err)
		}
		if _, err := ch4.QueueDeclare("", false, true, true, false, nil); amqpCode(err) != 406 {
			t.Fatalf("ack of an unknown tag: %v", err)
		}
		ch5, err := conn.Channel()
		must(t, err)
		if err := ch5.ExchangeDeclare("x", "nonsense", false, false, false, false, nil); amqpCode(err) != 503 {
			t.Fatalf("unknown exchange type: %v", err)
		}
		checkOthersServed(t, healthy)
	})
}

// FuzzConnection feeds arbitrary bytes after a complete handshake: the
// server must answer or hang up, never crash or hang, and keep serving.
func FuzzConnection(f *testing.F) {
	pub, _ := wire.AppendMethodFrame(nil, 1, &wire.BasicPublish{RoutingKey: "q"})
	hdr, _ := wire.AppendContentHeaderFrame(nil, 1, &wire.ContentHeader{ClassID: 60, BodySize: 3})
	body := wire.AppendFrame(nil, wire.FrameBody, 1, []byte("abc"))
	decl, _ := wire.AppendMethodFrame(nil, 1, &wire.QueueDeclare{Queue: "q"})
	cons, _ := wire.AppendMethodFrame(nil, 1, &wire.BasicConsume{Queue: "q"})
	ack, _ := wire.AppendMethodFrame(nil, 1, &wire.BasicAck{DeliveryTag: 1})
	f.Add(append(append(append(append([]byte{}, decl...), pub...), hdr...), body...))
	f.Add(append(append([]byte{}, decl...), cons...))
	f.Add(ack)
	f.Add(wire.AppendHeartbeat(nil))
	f.Add([]byte{1, 0, 1, 0, 0, 0, 4, 0, 10, 0, 40, 0xCE})
	f.Add(append(append([]byte{}, hdr...), body...))
	tb := startBroker(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := dialRaw(t, tb.addr)
		c.handshake()
		c.write(data)
		// Whatever happened, a new connection is served.
		c2 := dialRaw(t, tb.addr)
		c2.handshake()
		c2.send(1, &wire.ChannelClose{})
		c2.expect(&wire.ChannelCloseOK{})
	})
}
