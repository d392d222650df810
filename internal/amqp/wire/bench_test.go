package wire_test

import (
	"testing"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

// publishFrames is a basic.publish method payload and content header
// payload as a typical client sends them.
func publishFrames(tb testing.TB) (method, header []byte) {
	tb.Helper()
	method, err := wire.AppendMethodFrame(nil, 1, &wire.BasicPublish{Exchange: "orders", RoutingKey: "order.created"})
	if err != nil {
		tb.Fatal(err)
	}
	h := wire.ContentHeader{ClassID: wire.ClassBasic, BodySize: 512, Properties: wire.Properties{
		ContentType: "application/json", DeliveryMode: 2, MessageID: "0b0e5a4c", CorrelationID: "c-17",
	}}
	header, err = wire.AppendContentHeaderFrame(nil, 1, &h)
	if err != nil {
		tb.Fatal(err)
	}
	// Strip the frame around the payloads; ReadFrame is measured separately.
	return method[wire.FrameHeaderSize : len(method)-1], header[wire.FrameHeaderSize : len(header)-1]
}

// decodePublish is the server's hot path for an incoming message, reusing
// one BasicPublish and one ContentHeader per channel.
func decodePublish(method, header []byte, pub *wire.BasicPublish, h *wire.ContentHeader) error {
	_, _, args, err := wire.SplitMethodPayload(method)
	if err != nil {
		return err
	}
	if err := pub.DecodeArgs(args); err != nil {
		return err
	}
	return h.Decode(header)
}

func BenchmarkDecodePublish(b *testing.B) {
	method, header := publishFrames(b)
	var pub wire.BasicPublish
	var h wire.ContentHeader
	b.ReportAllocs()
	for b.Loop() {
		if err := decodePublish(method, header, &pub, &h); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDecodePublishAllocatesOnlyStrings(t *testing.T) {
	method, header := publishFrames(t)
	var pub wire.BasicPublish
	var h wire.ContentHeader
	allocs := testing.AllocsPerRun(100, func() {
		if err := decodePublish(method, header, &pub, &h); err != nil {
			t.Fatal(err)
		}
	})
	// exchange, routing key, content type, correlation id and message id.
	if allocs > 5 {
		t.Fatalf("%v allocations, want at most one per string", allocs)
	}
}

func encodeDeliver(dst []byte, deliver *wire.BasicDeliver, h *wire.ContentHeader, body []byte) ([]byte, error) {
	dst, err := wire.AppendMethodFrame(dst, 1, deliver)
	if err != nil {
		return dst, err
	}
	if dst, err = wire.AppendContentHeaderFrame(dst, 1, h); err != nil {
		return dst, err
	}
	return wire.AppendBodyFrames(dst, 1, body, 131072), nil
}

func deliverFixture() (*wire.BasicDeliver, *wire.ContentHeader, []byte) {
	body := make([]byte, 512)
	return &wire.BasicDeliver{ConsumerTag: "amq.ctag-1", DeliveryTag: 1, Exchange: "orders", RoutingKey: "order.created"},
		&wire.ContentHeader{ClassID: wire.ClassBasic, BodySize: uint64(len(body)), Properties: wire.Properties{
			ContentType: "application/json", DeliveryMode: 2, MessageID: "0b0e5a4c",
			Headers: wire.Table{"x-delivery-count": int64(1)},
		}}, body
}

func BenchmarkEncodeDeliver(b *testing.B) {
	deliver, h, body := deliverFixture()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		deliver.DeliveryTag++
		if buf, err = encodeDeliver(buf[:0], deliver, h, body); err != nil {
			b.Fatal(err)
		}
	}
}

func TestEncodeDeliverDoesNotAllocate(t *testing.T) {
	deliver, h, body := deliverFixture()
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = encodeDeliver(buf[:0], deliver, h, body); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations encoding basic.deliver into a large enough buffer", allocs)
	}
}

func BenchmarkReadFrameInto(b *testing.B) {
	frame := wire.AppendFrame(nil, wire.FrameBody, 1, make([]byte, 1024))
	stream := make([]byte, 0, len(frame)*1000)
	for range 1000 {
		stream = append(stream, frame...)
	}
	buf := make([]byte, 0, 131072)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	r := bufioReader(stream)
	for i := 0; b.Loop(); i++ {
		if i%1000 == 0 {
			r = bufioReader(stream)
		}
		if _, err := wire.ReadFrameInto(r, 131072, buf); err != nil {
			b.Fatal(err)
		}
	}
}
