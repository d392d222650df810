package amqp

import (
	"context"
	"reflect"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
	"github.com/gannet-mq/gannet/internal/broker"
)

// TestMappingBothWays checks the documented mapping: what AMQP writes, the
// core (and so every other protocol) reads under the neutral names, and a
// message appended by another protocol reaches an AMQP consumer intact.
func TestMappingBothWays(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("shared", true, false, false, false, nil)
	must(t, err)
	must(t, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, 1))
	publish(t, ch, "", "shared", amqp091.Publishing{MessageId: "m-1", CorrelationId: "c-1", ReplyTo: "r",
		ContentType: "text/plain", Priority: 4, Headers: amqp091.Table{"tenant": "acme", "n": int64(7)}, Body: []byte("hi")})
	<-confirms
	p, err := tb.b.Partition("shared", 0)
	must(t, err)
	recs, err := p.Read(0, 1<<20, 10)
	must(t, err)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	want := map[string]string{broker.HeaderMessageID: "m-1", broker.HeaderCorrelationID: "c-1", broker.HeaderReplyTo: "r",
		broker.HeaderContentType: "text/plain", broker.HeaderPriority: "4", "tenant": "acme", "n": "7",
		broker.HeaderExchange: "", broker.HeaderRoutingKey: "shared"}
	for k, v := range want {
		if got, ok := recs[0].HeaderValue(k); !ok || string(got) != v {
			t.Errorf("core header %s = %q, want %q", k, got, v)
		}
	}
	// The other way: a message appended as Redis or SQS would.
	_, err = tb.b.Append("shared", -1, []broker.Message{{Value: []byte("from elsewhere"), Headers: []broker.Header{
		{Key: broker.HeaderCorrelationID, Value: []byte("c-2")}, {Key: "origin", Value: []byte("redis")}}}}, broker.PublishOptions{})
	must(t, err)
	ds, err := ch.Consume("shared", "", false, false, false, false, nil)
	must(t, err)
	first := next(t, ds)
	if first.Headers["n"] != int64(7) || first.Priority != 4 {
		t.Fatalf("typed header or priority lost: %#v %d", first.Headers, first.Priority)
	}
	d := next(t, ds)
	if string(d.Body) != "from elsewhere" || d.CorrelationId != "c-2" || d.Headers["origin"] != "redis" ||
		d.RoutingKey != "shared" || d.Exchange != "" {
		t.Fatalf("foreign message: %+v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	must(t, ch.PublishWithContext(ctx, "", "shared", false, false, amqp091.Publishing{}))
}

// TestPropertiesRoundTripThroughCore maps every basic property and a header
// of every field-table type onto the core's message and back: an AMQP
// consumer gets exactly what the AMQP publisher sent, types included.
func TestPropertiesRoundTripThroughCore(t *testing.T) {
	in := wire.Properties{
		ContentType: "application/json", ContentEncoding: "gzip", DeliveryMode: 2,
		CorrelationID: "c-1", ReplyTo: "replies", Expiration: "60000", MessageID: "m-1",
		Timestamp: time.Unix(1700000000, 0), Type: "order.created", UserID: "guest", AppID: "shop", ClusterID: "c",
		Headers: wire.Table{
			"S": "text", "x": []byte{0, 1, 2}, "t": true, "b": int8(-8), "B": uint8(200), "s": int16(-1600),
			"u": uint16(60000), "I": int32(-70000), "i": uint32(4000000000), "l": int64(-1) << 40,
			"f": float32(0.1), "d": 2.5e-300, "D": wire.Decimal{Scale: 2, Value: 12345},
			"T": time.Unix(1600000000, 0), "V": nil,
			"F": wire.Table{"k": int32(1), "deep": wire.Table{"s": "v"}}, "A": []any{"a", int64(2), []any{true}},
		},
	}
	// Priority 0 is present on the wire and must stay present.
	in.Flags = in.Present() | wire.BasicFlagPriority
	msg, opts, err := toMessage(&in, []byte("body"))
	if err != nil {
		t.Fatal(err)
	}
	if opts.TTL != time.Minute {
		t.Errorf("TTL %v, want 1m from expiration 60000", opts.TTL)
	}
	rec := broker.Record{Message: msg}
	out := fromRecord(&rec, 1, "q").props
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("round trip changed the properties:\ngot  %#v\nwant %#v", out, in)
	}
}
