package amqp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

func TestNackWithoutRequeueDeadLettersWithXDeath(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	must(t, ch.ExchangeDeclare("dlx", "direct", true, false, false, false, nil))
	_, err := ch.QueueDeclare("dead", true, false, false, false, nil)
	must(t, err)
	must(t, ch.QueueBind("dead", "work-dead", "dlx", false, nil))
	_, err = ch.QueueDeclare("work", true, false, false, false, amqp091.Table{
		"x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "work-dead"})
	must(t, err)
	publish(t, ch, "", "work", amqp091.Publishing{Body: []byte("poison"), Headers: amqp091.Table{"x-retries": int32(0)}})
	ds, err := ch.Consume("work", "", false, false, false, false, nil)
	must(t, err)
	must(t, next(t, ds).Nack(false, false))
	dead, err := ch.Consume("dead", "", false, false, false, false, nil)
	must(t, err)
	d := next(t, dead)
	if string(d.Body) != "poison" || d.Headers["x-retries"] != int32(0) {
		t.Fatalf("dead letter: %q %#v", d.Body, d.Headers)
	}
	deaths, ok := d.Headers["x-death"].([]any)
	if !ok || len(deaths) != 1 {
		t.Fatalf("x-death: %#v", d.Headers["x-death"])
	}
	death := deaths[0].(amqp091.Table)
	if death["queue"] != "work" || death["reason"] != "rejected" || death["count"] != int64(1) || death["exchange"] != "" {
		t.Fatalf("x-death entry: %#v", death)
	}
	if keys, _ := death["routing-keys"].([]any); len(keys) != 1 || keys[0] != "work" {
		t.Fatalf("routing-keys: %#v", death["routing-keys"])
	}
	if _, ok := death["time"].(time.Time); !ok {
		t.Fatalf("time: %#v", death["time"])
	}
	if d.Headers["x-first-death-reason"] != "rejected" || d.Headers["x-first-death-queue"] != "work" {
		t.Fatalf("x-first-death-*: %#v", d.Headers)
	}
	if d.RoutingKey != "work-dead" || d.Exchange != "dlx" {
		t.Fatalf("dead letter routed by %q %q", d.Exchange, d.RoutingKey)
	}
	must(t, d.Ack(false))
}

func TestDeliveryLimitEndsPoisonLoop(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("dl-dead", true, false, false, false, nil)
	must(t, err)
	_, err = ch.QueueDeclare("dl", true, false, false, false, amqp091.Table{
		"x-queue-type": "quorum", "x-delivery-limit": int32(2),
		"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dl-dead"})
	must(t, err)
	publish(t, ch, "", "dl", amqp091.Publishing{Body: []byte("poison")})
	ds, err := ch.Consume("dl", "", false, false, false, false, nil)
	must(t, err)
	// RabbitMQ's limit 2 allows two returns: three deliveries in all.
	for i := 0; i < 3; i++ {
		d := next(t, ds)
		if i > 0 && d.Headers["x-delivery-count"] != int64(i) {
			t.Fatalf("delivery %d: x-delivery-count %#v", i, d.Headers["x-delivery-count"])
		}
		must(t, d.Nack(false, true))
	}
	none(t, ds)
	d, ok, err := ch.Get("dl-dead", true)
	must(t, err)
	if !ok || string(d.Body) != "poison" {
		t.Fatalf("poison message not dead-lettered: %v", ok)
	}
	death := d.Headers["x-death"].([]any)[0].(amqp091.Table)
	if death["reason"] != "delivery_limit" {
		t.Fatalf("reason %v", death["reason"])
	}
}

func TestMessageTTLAndMaxLength(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("ttl-dead", false, false, false, false, nil)
	must(t, err)
	_, err = ch.QueueDeclare("ttl", false, false, false, false, amqp091.Table{
		"x-message-ttl": int32(50), "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "ttl-dead"})
	must(t, err)
	publish(t, ch, "", "ttl", amqp091.Publishing{Body: []byte("old")})
	time.Sleep(120 * time.Millisecond)
	if _, ok, _ := ch.Get("ttl", true); ok {
		t.Fatal("expired message delivered")
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		d, ok, err := ch.Get("ttl-dead", true)
		must(t, err)
		if ok {
			if d.Headers["x-death"].([]any)[0].(amqp091.Table)["reason"] != "expired" {
				t.Fatalf("x-death %#v", d.Headers["x-death"])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("expired message not dead-lettered")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Per-message expiration.
	_, err = ch.QueueDeclare("pm", false, false, false, false, nil)
	must(t, err)
	publish(t, ch, "", "pm", amqp091.Publishing{Body: []byte("short"), Expiration: "30"})
	publish(t, ch, "", "pm", amqp091.Publishing{Body: []byte("long"), Expiration: "60000"})
	time.Sleep(80 * time.Millisecond)
	d, ok, err := ch.Get("pm", true)
	must(t, err)
	if !ok || string(d.Body) != "long" {
		t.Fatalf("per-message expiration: %v %q", ok, d.Body)
	}
	// Max length drops the head; reject-publish nacks.
	_, err = ch.QueueDeclare("ml", false, false, false, false, amqp091.Table{"x-max-length": int32(2)})
	must(t, err)
	for i := 0; i < 4; i++ {
		publish(t, ch, "", "ml", amqp091.Publishing{Body: []byte(fmt.Sprint(i))})
	}
	got := ""
	for {
		d, ok, err := ch.Get("ml", true)
		must(t, err)
		if !ok {
			break
		}
		got += string(d.Body)
	}
	if got != "23" {
		t.Fatalf("drop-head kept %q", got)
	}
	_, err = ch.QueueDeclare("rp", false, false, false, false, amqp091.Table{"x-max-length": int32(1), "x-overflow": "reject-publish"})
	must(t, err)
	must(t, ch.Confirm(false))
	if !confirmedPublish(t, ch, "", "rp", "a") {
		t.Fatal("first publish nacked")
	}
	if confirmedPublish(t, ch, "", "rp", "b") {
		t.Fatal("publish over x-max-length with reject-publish was acked")
	}
}

func TestSingleActiveConsumer(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("sac", true, false, false, false, amqp091.Table{"x-single-active-consumer": true})
	must(t, err)
	_, c1 := tb.channel()
	_, c2 := tb.channel()
	d1, err := c1.Consume("sac", "one", true, false, false, false, nil)
	must(t, err)
	d2, err := c2.Consume("sac", "two", true, false, false, false, nil)
	must(t, err)
	for i := 0; i < 5; i++ {
		publish(t, ch, "", "sac", amqp091.Publishing{Body: []byte(fmt.Sprint(i))})
	}
	for i := 0; i < 5; i++ {
		if d := next(t, d1); string(d.Body) != fmt.Sprint(i) {
			t.Fatalf("active consumer got %q", d.Body)
		}
	}
	none(t, d2)
	must(t, c1.Cancel("one", false))
	publish(t, ch, "", "sac", amqp091.Publishing{Body: []byte("next")})
	if d := next(t, d2); string(d.Body) != "next" {
		t.Fatalf("second consumer got %q", d.Body)
	}
}

func TestStreamQueueOffsets(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("events-stream", true, false, false, false, amqp091.Table{"x-queue-type": "stream"})
	must(t, err)
	must(t, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, 10))
	for i := 0; i < 5; i++ {
		publish(t, ch, "", "events-stream", amqp091.Publishing{Body: []byte(fmt.Sprint(i))})
	}
	for i := 0; i < 5; i++ {
		<-confirms
	}
	for _, tc := range []struct {
		offset any
		first  string
	}{{"first", "0"}, {int64(3), "3"}, {"last", "4"}, {time.Now().Add(-time.Hour), "0"}, {"1h", "0"}} {
		_, c := tb.channel()
		must(t, c.Qos(10, 0, false))
		ds, err := c.Consume("events-stream", "", false, false, false, false, amqp091.Table{"x-stream-offset": tc.offset})
		must(t, err)
		d := next(t, ds)
		if string(d.Body) != tc.first {
			t.Fatalf("offset %v: first %q", tc.offset, d.Body)
		}
		if d.Headers["x-stream-offset"] == nil {
			t.Fatal("no x-stream-offset header")
		}
		must(t, d.Ack(false))
	}
	// "next" sees only new messages; two readers each see everything.
	_, c := tb.channel()
	must(t, c.Qos(10, 0, false))
	ds, err := c.Consume("events-stream", "", false, false, false, false, amqp091.Table{"x-stream-offset": "next"})
	must(t, err)
	none(t, ds)
	publish(t, ch, "", "events-stream", amqp091.Publishing{Body: []byte("new")})
	if d := next(t, ds); string(d.Body) != "new" {
		t.Fatalf("next: %q", d.Body)
	}
}

func TestPriorityQueueAndExpires(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("prio", true, false, false, false, amqp091.Table{"x-max-priority": int32(10)})
	must(t, err)
	for _, p := range []uint8{1, 9, 0, 5} {
		publish(t, ch, "", "prio", amqp091.Publishing{Priority: p, Body: []byte{'0' + p}})
	}
	got := ""
	for {
		d, ok, err := ch.Get("prio", true)
		must(t, err)
		if !ok {
			break
		}
		got += string(d.Body)
	}
	if got != "9510" {
		t.Fatalf("priority order %q", got)
	}
	_, err = ch.QueueDeclare("expiring", false, false, false, false, amqp091.Table{"x-expires": int32(100)})
	must(t, err)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := ch.QueueDeclarePassive("expiring", false, false, false, false, nil)
		if amqpCode(err) == 404 {
			break
		}
		must(t, err)
		if time.Now().After(deadline) {
			t.Fatal("unused queue with x-expires not deleted")
		}
		time.Sleep(150 * time.Millisecond) // longer than x-expires, so the passive declares do not keep it
	}
	// x-max-length-bytes counts bodies and drops the head.
	_, ch = tb.channel()
	_, err = ch.QueueDeclare("mlb", false, false, false, false, amqp091.Table{"x-max-length-bytes": int32(25)})
	must(t, err)
	for i := 0; i < 4; i++ {
		publish(t, ch, "", "mlb", amqp091.Publishing{Body: []byte(fmt.Sprint(i, "-123456789"))})
	}
	got = ""
	for {
		d, ok, err := ch.Get("mlb", true)
		must(t, err)
		if !ok {
			break
		}
		got += string(d.Body[:1])
	}
	if got != "23" {
		t.Fatalf("x-max-length-bytes kept %q", got)
	}
}

func TestQueueDeclareEquivalenceAndPurgeDelete(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("eq", true, false, false, false, amqp091.Table{"x-message-ttl": int32(1000)})
	must(t, err)
	_, err = ch.QueueDeclare("eq", true, false, false, false, amqp091.Table{"x-message-ttl": int32(1000)})
	must(t, err)
	_, err = ch.QueueDeclare("eq", true, false, false, false, amqp091.Table{"x-message-ttl": int32(2000)})
	if amqpCode(err) != 406 || !strings.Contains(err.Error(), "inequivalent arg 'x-message-ttl'") {
		t.Fatalf("inequivalent ttl: %v", err)
	}
	_, ch = tb.channel()
	_, err = ch.QueueDeclare("eq", false, false, false, false, amqp091.Table{"x-message-ttl": int32(1000)})
	if amqpCode(err) != 406 || !strings.Contains(err.Error(), "'durable'") {
		t.Fatalf("inequivalent durable: %v", err)
	}
	_, ch = tb.channel()
	for i := 0; i < 3; i++ {
		publish(t, ch, "", "eq", amqp091.Publishing{Body: []byte("x")})
	}
	n, err := ch.QueuePurge("eq", false)
	must(t, err)
	if n != 3 {
		t.Fatalf("purged %d", n)
	}
	publish(t, ch, "", "eq", amqp091.Publishing{Body: []byte("x")})
	_, err = ch.QueueDelete("eq", false, true, false)
	if amqpCode(err) != 406 {
		t.Fatalf("if-empty delete of non-empty queue: %v", err)
	}
	_, ch = tb.channel()
	n, err = ch.QueueDelete("eq", false, false, false)
	must(t, err)
	if n != 1 {
		t.Fatalf("delete reported %d messages", n)
	}
}

// A bad queue argument closes the channel with the reason RabbitMQ's
// check_arguments gives: an AMQP field type name for a wrong type (integer
// arguments too), and its own term for a bad value.
func TestQueueArgumentErrorsGiveRabbitMQReasons(t *testing.T) {
	tb := startBroker(t)
	for _, c := range []struct {
		args amqp091.Table
		arg  string // the argument the reason names
		want string
	}{
		{amqp091.Table{"x-max-length": "10"}, "x-max-length", "{unacceptable_type,longstr}"},
		{amqp091.Table{"x-message-ttl": 1.5}, "x-message-ttl", "{unacceptable_type,double}"},
		{amqp091.Table{"x-delivery-limit": true}, "x-delivery-limit", "{unacceptable_type,bool}"},
		{amqp091.Table{"x-max-length-bytes": int64(-1)}, "x-max-length-bytes", "{value_negative,-1}"},
		{amqp091.Table{"x-expires": int32(0)}, "x-expires", "{value_zero,0}"},
		{amqp091.Table{"x-expires": int16(-5)}, "x-expires", "{value_negative,-5}"},
		{amqp091.Table{"x-expires": "soon"}, "x-expires", "{unacceptable_type,longstr}"},
		{amqp091.Table{"x-message-ttl": int64(4294967296)}, "x-message-ttl", "{value_too_big,4294967296}"},
		{amqp091.Table{"x-max-priority": int32(256)}, "x-max-priority", "{max_value_exceeded,256}"},
		{amqp091.Table{"x-max-priority": int32(-1)}, "x-max-priority", "{value_negative,-1}"},
		{amqp091.Table{"x-dead-letter-exchange": int32(1)}, "x-dead-letter-exchange", "{unacceptable_type,signedint}"},
		{amqp091.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": true}, "x-dead-letter-routing-key", "{unacceptable_type,bool}"},
		{amqp091.Table{"x-dead-letter-routing-key": "dead"}, "x-dead-letter-routing-key", "routing_key_but_no_dlx_defined"},
		{amqp091.Table{"x-single-active-consumer": "yes"}, "x-single-active-consumer", "{unacceptable_type,longstr}"},
		{amqp091.Table{"x-overflow": "drop-tail"}, "x-overflow", "invalid_overflow"},
		{amqp091.Table{"x-overflow": int8(1)}, "x-overflow", "{unacceptable_type,byte}"},
		{amqp091.Table{"x-queue-type": int64(1)}, "x-queue-type", "{unacceptable_type,long}"},
	} {
		_, ch := tb.channel()
		_, err := ch.QueueDeclare("bad-args", false, false, false, false, c.args)
		want := "Exception (406) Reason: \"PRECONDITION_FAILED - invalid arg '" + c.arg +
			"' for queue 'bad-args' in vhost '/': " + c.want + "\""
		if err == nil || err.Error() != want {
			t.Errorf("%v: %v, want %s", c.args, err, want)
		}
	}
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("bad-age", true, false, false, false, amqp091.Table{"x-queue-type": "stream", "x-max-age": "0D"})
	if want := "invalid arg 'x-max-age' for queue 'bad-age' in vhost '/': invalid_max_age"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("x-max-age 0D: %v, want %s", err, want)
	}
}
