package wire_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

// scriptedServer is the server end of a net.Pipe, driven step by step with
// this package's codec. Any failure is returned as an error, so that the
// test goroutine, not this one, reports it.
type scriptedServer struct {
	conn     net.Conn
	r        *bufio.Reader
	frameMax uint32
}

func (s *scriptedServer) send(channel uint16, m wire.Method) error {
	frame, err := wire.AppendMethodFrame(nil, channel, m)
	if err != nil {
		return err
	}
	_, err = s.conn.Write(frame)
	return err
}

// expect reads one method frame and decodes it into want's type.
func expect[M wire.Method](s *scriptedServer, channel uint16) (M, error) {
	var zero M
	f, err := wire.ReadFrame(s.r, s.frameMax)
	if err != nil {
		return zero, err
	}
	if f.Type != wire.FrameMethod || f.Channel != channel {
		return zero, fmt.Errorf("got frame type %d on channel %d, want a method on %d", f.Type, f.Channel, channel)
	}
	m, err := wire.ParseMethodFrame(f.Payload)
	if err != nil {
		return zero, err
	}
	typed, ok := m.(M)
	if !ok {
		return zero, fmt.Errorf("got %s, want %T", m.Name(), zero)
	}
	return typed, nil
}

// readContent reads a content header and the body frames that complete it.
func (s *scriptedServer) readContent(channel uint16) (wire.ContentHeader, []byte, error) {
	var h wire.ContentHeader
	f, err := wire.ReadFrame(s.r, s.frameMax)
	if err != nil {
		return h, nil, err
	}
	if f.Type != wire.FrameHeader || f.Channel != channel {
		return h, nil, fmt.Errorf("got frame type %d, want a content header", f.Type)
	}
	if err := h.Decode(f.Payload); err != nil {
		return h, nil, err
	}
	var body []byte
	for uint64(len(body)) < h.BodySize {
		f, err := wire.ReadFrame(s.r, s.frameMax)
		if err != nil {
			return h, nil, err
		}
		if f.Type != wire.FrameBody {
			return h, nil, fmt.Errorf("got frame type %d, want a body frame", f.Type)
		}
		body = append(body, f.Payload...)
	}
	return h, body, nil
}

// interopHeaders has a value of every type amqp091-go writes, as the client
// application passes them; interopHeadersDecoded is what our codec must
// read from the wire.
var (
	interopHeaders = amqp.Table{
		"bool": true, "int8": int8(-8), "byte": byte(8), "int16": int16(-16),
		"uint16": uint16(16), "int32": int32(-32), "uint32": uint32(32), "int64": int64(-64),
		"float32": float32(0.5), "float64": 0.25, "decimal": amqp.Decimal{Scale: 1, Value: 15},
		"string": "s", "bytes": []byte{1, 2}, "time": time.Unix(1700000000, 0),
		"array": []any{"a", int32(1)}, "table": amqp.Table{"k": "v"}, "void": nil,
	}
	interopHeadersDecoded = wire.Table{
		"bool": true, "int8": int8(-8), "byte": uint8(8), "int16": int16(-16),
		"uint16": uint16(16), "int32": int32(-32), "uint32": uint32(32), "int64": int64(-64),
		"float32": float32(0.5), "float64": 0.25, "decimal": wire.Decimal{Scale: 1, Value: 15},
		"string": "s", "bytes": []byte{1, 2}, "time": time.Unix(1700000000, 0).UTC(),
		"array": []any{"a", int32(1)}, "table": wire.Table{"k": "v"}, "void": nil,
	}
)

// TestInteropWithAmqp091Go runs the real amqp091-go client against a
// scripted server that speaks only through this package: the client's bytes
// must decode to what the client was asked to send, and the client must
// accept the server's bytes.
func TestInteropWithAmqp091Go(t *testing.T) {
	clientConn, serverConn := net.Pipe()
	deadline := time.Now().Add(10 * time.Second)
	clientConn.SetDeadline(deadline)
	serverConn.SetDeadline(deadline)
	srv := &scriptedServer{conn: serverConn, r: bufio.NewReader(serverConn), frameMax: 8192}
	body := bytes.Repeat([]byte("0123456789"), 2000) // 20000 bytes: 3 body frames at 8192
	serverDone := make(chan error, 1)
	go func() {
		err := srv.run(body)
		if err != nil {
			serverConn.Close() // unblocks the client
		}
		serverDone <- err
	}()
	// The server's error explains most client failures, so it is reported
	// whichever side fails first.
	t.Cleanup(func() {
		clientConn.Close()
		if err := <-serverDone; err != nil {
			t.Errorf("server: %v", err)
		}
	})

	conn, err := amqp.Open(clientConn, amqp.Config{
		SASL:      []amqp.Authentication{&amqp.PlainAuth{Username: "guest", Password: "secret"}},
		Vhost:     "/gannet",
		FrameSize: 8192,
		Locale:    "en_US",
	})
	if err != nil {
		t.Fatalf("client open: %v", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatalf("confirm.select: %v", err)
	}
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1))
	if err := ch.ExchangeDeclare("orders", "topic", true, false, false, false, amqp.Table{"alternate-exchange": "ae"}); err != nil {
		t.Fatalf("exchange.declare: %v", err)
	}
	if _, err := ch.QueueDeclare("billing", true, false, false, false, amqp.Table{"x-max-length": int32(10)}); err != nil {
		t.Fatalf("queue.declare: %v", err)
	}
	if err := ch.QueueBind("billing", "order.*", "orders", false, nil); err != nil {
		t.Fatalf("queue.bind: %v", err)
	}
	if err := ch.Qos(5, 0, false); err != nil {
		t.Fatalf("basic.qos: %v", err)
	}
	deliveries, err := ch.Consume("billing", "ctag", false, false, false, false, nil)
	if err != nil {
		t.Fatalf("basic.consume: %v", err)
	}
	pub := amqp.Publishing{
		Headers: interopHeaders, ContentType: "application/json", ContentEncoding: "identity",
		DeliveryMode: amqp.Persistent, Priority: 3, CorrelationId: "corr", ReplyTo: "replies",
		Expiration: "60000", MessageId: "m-1", Timestamp: time.Unix(1700000001, 0),
		Type: "order.created", UserId: "guest", AppId: "shop", Body: body,
	}
	if err := ch.PublishWithContext(context.Background(), "orders", "order.new", true, false, pub); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if c := <-confirms; !c.Ack || c.DeliveryTag != 1 {
		t.Fatalf("confirmation %+v, want ack of tag 1", c)
	}
	d := <-deliveries
	want := pub
	want.Timestamp = want.Timestamp.UTC()
	got := amqp.Publishing{
		Headers: d.Headers, ContentType: d.ContentType, ContentEncoding: d.ContentEncoding,
		DeliveryMode: d.DeliveryMode, Priority: d.Priority, CorrelationId: d.CorrelationId,
		ReplyTo: d.ReplyTo, Expiration: d.Expiration, MessageId: d.MessageId,
		Timestamp: d.Timestamp.UTC(), Type: d.Type, UserId: d.UserId, AppId: d.AppId, Body: d.Body,
	}
	want.Headers = got.Headers // compared separately below, as amqp091-go types
	if !reflect.DeepEqual(got, want) {
		t.Errorf("client received %+v", got)
	}
	if d.Headers["int64"] != int64(-64) || d.Headers["string"] != "s" {
		t.Errorf("client received headers %#v", d.Headers)
	}
	if d.ConsumerTag != "ctag" || d.DeliveryTag != 42 || !d.Redelivered || d.Exchange != "orders" || d.RoutingKey != "order.new" {
		t.Errorf("delivery envelope %q %d %t %q %q", d.ConsumerTag, d.DeliveryTag, d.Redelivered, d.Exchange, d.RoutingKey)
	}
	if err := conn.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// run plays the server's side of the conversation in the test above.
func (s *scriptedServer) run(body []byte) error {
	if err := wire.ReadProtocolHeader(s.r); err != nil {
		return err
	}
	if err := s.send(0, &wire.ConnectionStart{VersionMajor: 0, VersionMinor: 9,
		ServerProperties: wire.Table{"product": "gannet", "capabilities": wire.Table{
			"publisher_confirms": true, "basic.nack": true, "consumer_cancel_notify": true}},
		Mechanisms: "PLAIN AMQPLAIN", Locales: "en_US"}); err != nil {
		return err
	}
	startOK, err := expect[*wire.ConnectionStartOK](s, 0)
	if err != nil {
		return err
	}
	if startOK.Mechanism != "PLAIN" || startOK.Response != "\x00guest\x00secret" || startOK.Locale != "en_US" {
		return fmt.Errorf("start-ok %+v", startOK)
	}
	if _, ok := startOK.ClientProperties["capabilities"].(wire.Table); !ok {
		return fmt.Errorf("client properties lack a capabilities table: %#v", startOK.ClientProperties)
	}
	if err := s.send(0, &wire.ConnectionTune{ChannelMax: 16, FrameMax: 131072, Heartbeat: 0}); err != nil {
		return err
	}
	tuneOK, err := expect[*wire.ConnectionTuneOK](s, 0)
	if err != nil {
		return err
	}
	if tuneOK.FrameMax != 8192 || tuneOK.ChannelMax != 16 {
		return fmt.Errorf("tune-ok %+v, want frame-max 8192 and 16 channels", tuneOK)
	}
	open, err := expect[*wire.ConnectionOpen](s, 0)
	if err != nil {
		return err
	}
	if open.VirtualHost != "/gannet" {
		return fmt.Errorf("connection.open for vhost %q", open.VirtualHost)
	}
	if err := s.send(0, &wire.ConnectionOpenOK{}); err != nil {
		return err
	}
	if _, err := expect[*wire.ChannelOpen](s, 1); err != nil {
		return err
	}
	if err := s.send(1, &wire.ChannelOpenOK{}); err != nil {
		return err
	}
	if _, err := expect[*wire.ConfirmSelect](s, 1); err != nil {
		return err
	}
	if err := s.send(1, &wire.ConfirmSelectOK{}); err != nil {
		return err
	}
	declare, err := expect[*wire.ExchangeDeclare](s, 1)
	if err != nil {
		return err
	}
	wantDeclare := &wire.ExchangeDeclare{Exchange: "orders", Type: "topic", Durable: true,
		Arguments: wire.Table{"alternate-exchange": "ae"}}
	if !reflect.DeepEqual(declare, wantDeclare) {
		return fmt.Errorf("exchange.declare %+v", declare)
	}
	if err := s.send(1, &wire.ExchangeDeclareOK{}); err != nil {
		return err
	}
	queue, err := expect[*wire.QueueDeclare](s, 1)
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(queue, &wire.QueueDeclare{Queue: "billing", Durable: true, Arguments: wire.Table{"x-max-length": int32(10)}}) {
		return fmt.Errorf("queue.declare %+v", queue)
	}
	if err := s.send(1, &wire.QueueDeclareOK{Queue: "billing"}); err != nil {
		return err
	}
	bind, err := expect[*wire.QueueBind](s, 1)
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(bind, &wire.QueueBind{Queue: "billing", Exchange: "orders", RoutingKey: "order.*"}) {
		return fmt.Errorf("queue.bind %+v", bind)
	}
	if err := s.send(1, &wire.QueueBindOK{}); err != nil {
		return err
	}
	qos, err := expect[*wire.BasicQos](s, 1)
	if err != nil {
		return err
	}
	if qos.PrefetchCount != 5 || qos.Global {
		return fmt.Errorf("basic.qos %+v", qos)
	}
	if err := s.send(1, &wire.BasicQosOK{}); err != nil {
		return err
	}
	consume, err := expect[*wire.BasicConsume](s, 1)
	if err != nil {
		return err
	}
	if consume.Queue != "billing" || consume.ConsumerTag != "ctag" || consume.NoAck {
		return fmt.Errorf("basic.consume %+v", consume)
	}
	if err := s.send(1, &wire.BasicConsumeOK{ConsumerTag: "ctag"}); err != nil {
		return err
	}
	publish, err := expect[*wire.BasicPublish](s, 1)
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(publish, &wire.BasicPublish{Exchange: "orders", RoutingKey: "order.new", Mandatory: true}) {
		return fmt.Errorf("basic.publish %+v", publish)
	}
	header, gotBody, err := s.readContent(1)
	if err != nil {
		return err
	}
	if !bytes.Equal(gotBody, body) {
		return fmt.Errorf("published body of %d bytes differs", len(gotBody))
	}
	p := header.Properties
	if !reflect.DeepEqual(p.Headers, interopHeadersDecoded) {
		return fmt.Errorf("published headers decode to %#v", p.Headers)
	}
	if p.ContentType != "application/json" || p.ContentEncoding != "identity" || p.DeliveryMode != 2 ||
		p.Priority != 3 || p.CorrelationID != "corr" || p.ReplyTo != "replies" || p.Expiration != "60000" ||
		p.MessageID != "m-1" || !p.Timestamp.Equal(time.Unix(1700000001, 0)) || p.Type != "order.created" ||
		p.UserID != "guest" || p.AppID != "shop" {
		return fmt.Errorf("published properties %+v", p)
	}
	if err := s.send(1, &wire.BasicAck{DeliveryTag: 1}); err != nil {
		return err
	}
	// Deliver the message back, written entirely by our encoder.
	out, err := wire.AppendMethodFrame(nil, 1, &wire.BasicDeliver{ConsumerTag: "ctag", DeliveryTag: 42,
		Redelivered: true, Exchange: "orders", RoutingKey: "order.new"})
	if err != nil {
		return err
	}
	if out, err = wire.AppendContentHeaderFrame(out, 1, &header); err != nil {
		return err
	}
	out = wire.AppendBodyFrames(out, 1, body, s.frameMax)
	if _, err := s.conn.Write(out); err != nil {
		return err
	}
	closing, err := expect[*wire.ConnectionClose](s, 0)
	if err != nil {
		return err
	}
	if closing.ReplyCode != wire.ReplySuccess {
		return fmt.Errorf("connection.close %+v", closing)
	}
	if err := s.send(0, &wire.ConnectionCloseOK{}); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}
