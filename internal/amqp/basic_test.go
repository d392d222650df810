package amqp

import (
	"context"
	"fmt"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

func TestConnectAndServerProperties(t *testing.T) {
	tb := startBroker(t)
	conn := tb.dial()
	caps, _ := conn.Properties["capabilities"].(amqp091.Table)
	for _, c := range []string{"publisher_confirms", "basic.nack", "consumer_cancel_notify", "connection.blocked",
		"per_consumer_qos", "direct_reply_to", "exchange_exchange_bindings"} {
		if caps[c] != true {
			t.Errorf("capability %s = %v", c, caps[c])
		}
	}
	if conn.Config.FrameSize == 0 || conn.Config.ChannelMax == 0 {
		t.Errorf("tune not negotiated: %+v", conn.Config)
	}
}

func TestAuthentication(t *testing.T) {
	tb := startBroker(t)
	_, err := amqp091.Dial("amqp://guest:wrong@" + tb.addr + "/")
	if err == nil {
		t.Fatal("wrong password accepted")
	}
	conn, err := amqp091.DialConfig(tb.url(), amqp091.Config{SASL: []amqp091.Authentication{&amqp091.AMQPlainAuth{Username: "guest", Password: "guest"}}})
	must(t, err)
	conn.Close()
	_, err = amqp091.Dial("amqp://guest:guest@" + tb.addr + "/other")
	if err == nil {
		t.Fatal("unknown vhost accepted")
	}
}

func TestPublishConsumeManualAck(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	q, err := ch.QueueDeclare("orders", true, false, false, false, nil)
	must(t, err)
	if q.Name != "orders" {
		t.Fatal(q.Name)
	}
	publish(t, ch, "", "orders", amqp091.Publishing{
		DeliveryMode: amqp091.Persistent, ContentType: "application/json", CorrelationId: "c1",
		MessageId: "m1", ReplyTo: "r", Type: "t", AppId: "app", Priority: 3, Timestamp: time.Unix(1700000000, 0),
		Expiration: "60000", Headers: amqp091.Table{"x-retries": int32(2), "s": "v", "nested": amqp091.Table{"a": int64(1)}},
		Body: []byte(`{"orderId": 1}`),
	})
	ds, err := ch.Consume("orders", "", false, false, false, false, nil)
	must(t, err)
	d := next(t, ds)
	if string(d.Body) != `{"orderId": 1}` || d.ContentType != "application/json" || d.CorrelationId != "c1" ||
		d.MessageId != "m1" || d.ReplyTo != "r" || d.Type != "t" || d.AppId != "app" || d.Priority != 3 ||
		d.DeliveryMode != 2 || !d.Timestamp.Equal(time.Unix(1700000000, 0)) || d.Expiration != "60000" {
		t.Fatalf("properties not kept: %+v", d)
	}
	if d.Headers["x-retries"] != int32(2) || d.Headers["s"] != "v" {
		t.Fatalf("headers: %#v", d.Headers)
	}
	if n, _ := d.Headers["nested"].(amqp091.Table); n["a"] != int64(1) {
		t.Fatalf("nested header: %#v", d.Headers["nested"])
	}
	if d.Redelivered || d.RoutingKey != "orders" || d.Exchange != "" {
		t.Fatalf("delivery fields: %+v", d)
	}
	must(t, d.Ack(false))
}

func TestUnackedRedeliveredWhenConsumerCloses(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("work", true, false, false, false, nil)
	must(t, err)
	for i := 0; i < 3; i++ {
		publish(t, ch, "", "work", amqp091.Publishing{Body: []byte(fmt.Sprint(i))})
	}
	conn2, ch2 := tb.channel()
	ds, err := ch2.Consume("work", "", false, false, false, false, nil)
	must(t, err)
	for i := 0; i < 3; i++ {
		next(t, ds)
	}
	conn2.Close() // without acking

	ds, err = ch.Consume("work", "", false, false, false, false, nil)
	must(t, err)
	for i := 0; i < 3; i++ {
		d := next(t, ds)
		if !d.Redelivered || string(d.Body) != fmt.Sprint(i) {
			t.Fatalf("delivery %d: redelivered=%v body=%q", i, d.Redelivered, d.Body)
		}
		if d.Headers["x-delivery-count"] != int64(1) {
			t.Fatalf("x-delivery-count = %#v", d.Headers["x-delivery-count"])
		}
		must(t, d.Ack(false))
	}
}

func TestPrefetchBoundsUnacked(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("pf", false, false, false, false, nil)
	must(t, err)
	for i := 0; i < 20; i++ {
		publish(t, ch, "", "pf", amqp091.Publishing{Body: []byte(fmt.Sprint(i))})
	}
	_, cch := tb.channel()
	must(t, cch.Qos(5, 0, false))
	ds, err := cch.Consume("pf", "", false, false, false, false, nil)
	must(t, err)
	var got []amqp091.Delivery
	for i := 0; i < 5; i++ {
		got = append(got, next(t, ds))
	}
	none(t, ds)
	must(t, got[4].Ack(true)) // acks all five
	for i := 0; i < 5; i++ {
		got = append(got, next(t, ds))
	}
	none(t, ds)
	// Global prefetch bounds the channel as a whole.
	_, gch := tb.channel()
	must(t, gch.Qos(3, 0, true))
	ds1, err := gch.Consume("pf", "a", false, false, false, false, nil)
	must(t, err)
	ds2, err := gch.Consume("pf", "b", false, false, false, false, nil)
	must(t, err)
	n := 0
	timeout := time.After(300 * time.Millisecond)
loop:
	for {
		select {
		case <-ds1:
			n++
		case <-ds2:
			n++
		case <-timeout:
			break loop
		}
	}
	if n != 3 {
		t.Fatalf("global prefetch 3 let %d through", n)
	}
}

func TestNackRequeueRejectAndGet(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("g", false, false, false, false, nil)
	must(t, err)
	_, _, err = ch.Get("g", false)
	must(t, err)
	publish(t, ch, "", "g", amqp091.Publishing{Body: []byte("a")})
	publish(t, ch, "", "g", amqp091.Publishing{Body: []byte("b")})
	d, ok, err := ch.Get("g", false)
	must(t, err)
	if !ok || string(d.Body) != "a" || d.MessageCount != 1 {
		t.Fatalf("get: %v %q %d", ok, d.Body, d.MessageCount)
	}
	must(t, d.Nack(false, true))
	d, ok, err = ch.Get("g", false)
	must(t, err)
	if !ok || string(d.Body) != "a" || !d.Redelivered {
		t.Fatalf("requeued get: %v %q %v", ok, d.Body, d.Redelivered)
	}
	must(t, d.Reject(false)) // no dead-letter exchange: dropped
	d, ok, err = ch.Get("g", true)
	must(t, err)
	if !ok || string(d.Body) != "b" {
		t.Fatalf("get b: %v %q", ok, d.Body)
	}
	_, ok, err = ch.Get("g", true)
	must(t, err)
	if ok {
		t.Fatal("queue not empty")
	}
}

func TestConfirms(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("c", true, false, false, false, nil)
	must(t, err)
	must(t, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, 1000))
	for i := 0; i < 500; i++ {
		publish(t, ch, "", "c", amqp091.Publishing{DeliveryMode: 2, Body: make([]byte, 1024)})
	}
	// Unroutable messages are confirmed too.
	publish(t, ch, "", "nowhere", amqp091.Publishing{Body: []byte("x")})
	for i := 1; i <= 501; i++ {
		select {
		case c := <-confirms:
			if !c.Ack || c.DeliveryTag != uint64(i) {
				t.Fatalf("confirm %d: %+v", i, c)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("confirm %d missing", i)
		}
	}
	q, err := ch.QueueDeclarePassive("c", true, false, false, false, nil)
	must(t, err)
	if q.Messages != 500 {
		t.Fatalf("queue has %d messages", q.Messages)
	}
}

func TestMandatoryReturn(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	returns := ch.NotifyReturn(make(chan amqp091.Return, 1))
	must(t, ch.PublishWithContext(context.Background(), "amq.direct", "nobody", true, false, amqp091.Publishing{Body: []byte("lost"), MessageId: "id"}))
	select {
	case r := <-returns:
		if r.ReplyCode != 312 || r.ReplyText != "NO_ROUTE" || string(r.Body) != "lost" || r.MessageId != "id" || r.Exchange != "amq.direct" {
			t.Fatalf("return: %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no basic.return")
	}
}

func TestMultiFrameBody(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("big", false, false, false, false, nil)
	must(t, err)
	body := make([]byte, 700_000) // several 128 KiB frames
	for i := range body {
		body[i] = byte(i * 7)
	}
	publish(t, ch, "", "big", amqp091.Publishing{Body: body})
	d, ok, err := ch.Get("big", true)
	must(t, err)
	if !ok || string(d.Body) != string(body) {
		t.Fatalf("body of %d bytes came back as %d", len(body), len(d.Body))
	}
}

// TestConfirmsOnlyAfterFsync: with fsync "always" the core makes a record
// readable only once it is fsynced, so whenever a confirm arrives, the
// queue's readable end must already cover every message it confirms.
func TestConfirmsOnlyAfterFsync(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("fsynced", true, false, false, false, nil)
	must(t, err)
	p, err := tb.b.Partition("fsynced", 0)
	must(t, err)
	must(t, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, 300))
	go func() {
		for i := 0; i < 300; i++ {
			ch.PublishWithContext(context.Background(), "", "fsynced", false, false,
				amqp091.Publishing{DeliveryMode: 2, Body: make([]byte, 512)})
		}
	}()
	for n := 0; n < 300; n++ {
		c := <-confirms
		if !c.Ack {
			t.Fatalf("nack %d", c.DeliveryTag)
		}
		// Message tag k has offset k-1.
		if end := p.EndOffset(); end < int64(c.DeliveryTag) {
			t.Fatalf("confirm %d arrived while only %d messages were on disk", c.DeliveryTag, end)
		}
	}
}
