package amqpclient

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

// fakeBroker answers the handshake and channel.open on the server end of a
// pipe, then sends script and hangs up, reading whatever the client writes.
func fakeBroker(t testing.TB, server net.Conn, script []byte) {
	defer server.Close()
	r := bufio.NewReader(server)
	if _, err := io.ReadFull(r, make([]byte, len(wire.ProtocolHeader))); err != nil {
		return
	}
	// What the broker sends first, then after each frame of the client's:
	// start-ok, tune-ok (nothing), open, channel.open.
	answers := []wire.Method{
		&wire.ConnectionStart{VersionMajor: 0, VersionMinor: 9, Mechanisms: "PLAIN", Locales: "en_US"},
		&wire.ConnectionTune{ChannelMax: 1, FrameMax: 4096},
		nil,
		&wire.ConnectionOpenOK{},
		&wire.ChannelOpenOK{},
	}
	for i, answer := range answers {
		if i > 0 {
			if _, err := wire.ReadFrame(r, 1<<20); err != nil {
				return
			}
		}
		if answer == nil {
			continue
		}
		channel := uint16(0)
		if answer.ClassID() == wire.ClassChannel {
			channel = channelID
		}
		frame, err := wire.AppendMethodFrame(nil, channel, answer)
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := server.Write(frame); err != nil {
			return
		}
	}
	go io.Copy(io.Discard, r)
	server.Write(script)
}

// FuzzReader feeds arbitrary frames to an open connection, then hangs up:
// the client must end the connection with an error, never panic or hang.
func FuzzReader(f *testing.F) {
	deliver, _ := wire.AppendMethodFrame(nil, channelID, &wire.BasicDeliver{ConsumerTag: "c", DeliveryTag: 7})
	deliver, _ = wire.AppendContentHeaderFrame(deliver, channelID, &wire.ContentHeader{ClassID: wire.ClassBasic, BodySize: 5})
	deliver = wire.AppendFrame(deliver, wire.FrameBody, channelID, []byte("hello"))
	ack, _ := wire.AppendMethodFrame(nil, channelID, &wire.BasicAck{DeliveryTag: 3, Multiple: true})
	closing, _ := wire.AppendMethodFrame(nil, channelID, &wire.ChannelClose{ReplyCode: 406, ReplyText: "no"})
	f.Add(deliver)
	f.Add(append(ack, deliver...))
	f.Add(closing)
	f.Add(deliver[:20])
	f.Add([]byte{1, 0, 1, 0, 0, 0, 3, 0, 60, 0})
	f.Fuzz(func(t *testing.T, script []byte) {
		client, server := net.Pipe()
		go fakeBroker(t, server, script)
		c, err := Dial("pipe", Options{Conn: client,
			OnConfirm: func(uint64, bool, bool) {},
			OnDeliver: func(_ uint64, body []byte) { _ = append([]byte(nil), body...) }})
		if err != nil {
			// The script may end the connection before channel.open-ok
			// reaches Dial: an error is a right answer then too.
			return
		}
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("the connection did not end after the broker hung up")
		}
		if c.Err() == nil {
			t.Fatal("the connection ended without an error")
		}
		c.Close()
	})
}

// FuzzDeliveryTag checks the reader's partial decoding of basic.deliver
// against the full one in wire: whatever wire decodes, deliveryTag reads
// the same tag from.
func FuzzDeliveryTag(f *testing.F) {
	args, _ := (&wire.BasicDeliver{ConsumerTag: "ctag", DeliveryTag: 7, Exchange: "x", RoutingKey: "k"}).AppendArgs(nil)
	f.Add(args)
	f.Add(args[:5])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, args []byte) {
		tag, err := deliveryTag(args)
		var m wire.BasicDeliver
		if m.DecodeArgs(args) != nil {
			return // deliveryTag may read a tag from what wire refuses as a whole
		}
		if err != nil || tag != m.DeliveryTag {
			t.Fatalf("deliveryTag = %d, %v; wire decodes tag %d", tag, err, m.DeliveryTag)
		}
	})
}

// FuzzContentHeaderSize checks the reader's partial decoding of a content
// header against wire's: whatever wire decodes, the delivery takes the
// same body size from.
func FuzzContentHeaderSize(f *testing.F) {
	header, _ := (&wire.ContentHeader{ClassID: wire.ClassBasic, BodySize: 5}).Append(nil)
	f.Add(header)
	f.Add(header[:10])
	f.Fuzz(func(t *testing.T, payload []byte) {
		var d delivery
		_, err := d.add(wire.FrameHeader, payload)
		var h wire.ContentHeader
		if h.Decode(payload) != nil {
			return
		}
		if err != nil || d.size != h.BodySize {
			t.Fatalf("delivery takes body size %d, %v; wire decodes %d", d.size, err, h.BodySize)
		}
	})
}
