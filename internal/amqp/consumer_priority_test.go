package amqp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// rankedConsumer is a consumer on its own channel with prefetch 1.
type rankedConsumer struct {
	name string
	ch   *amqp091.Channel
	ds   <-chan amqp091.Delivery
}

// consumeRanked starts a consumer with prefetch 1 on a new channel of conn;
// priority nil sends no x-priority.
func consumeRanked(t *testing.T, conn *amqp091.Connection, queue, name string, priority any) rankedConsumer {
	t.Helper()
	ch, err := conn.Channel()
	must(t, err)
	must(t, ch.Qos(1, 0, false))
	var args amqp091.Table
	if priority != nil {
		args = amqp091.Table{"x-priority": priority}
	}
	ds, err := ch.Consume(queue, name, false, false, false, false, args)
	must(t, err)
	return rankedConsumer{name: name, ch: ch, ds: ds}
}

// nextOf waits for the next delivery to any of the consumers and says
// which one got it.
func nextOf(t *testing.T, cs ...rankedConsumer) (string, amqp091.Delivery) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		for _, c := range cs {
			select {
			case d := <-c.ds:
				return c.name, d
			default:
			}
		}
		select {
		case <-timeout:
			t.Fatal("no delivery within 5s")
		case <-time.After(time.Millisecond):
		}
	}
}

// The publisher shares the consumers' connection throughout: the server
// reads one connection's frames in order, so an ack is handled before the
// publish that follows it, as RabbitMQ orders them on one channel.
func TestConsumerPrioritiesPreferTheHighestActiveConsumer(t *testing.T) {
	tb := startBroker(t)
	conn, pub := tb.channel()
	_, err := pub.QueueDeclare("ranked", false, false, false, false, nil)
	must(t, err)
	high := consumeRanked(t, conn, "ranked", "high", int32(10))
	low := consumeRanked(t, conn, "ranked", "low", nil) // default priority 0

	for i := 0; i < 20; i++ {
		publish(t, pub, "", "ranked", amqp091.Publishing{Body: []byte(fmt.Sprint(i))})
		who, d := nextOf(t, high, low)
		if who != "high" {
			t.Fatalf("message %d went to %s while the priority-10 consumer acked promptly", i, who)
		}
		must(t, d.Ack(false))
	}

	// With its prefetch window full the high consumer is blocked, and the
	// low one takes the next message.
	publish(t, pub, "", "ranked", amqp091.Publishing{Body: []byte("held")})
	who, held := nextOf(t, high, low)
	if who != "high" || string(held.Body) != "held" {
		t.Fatalf("%s got %q, want high to get held", who, held.Body)
	}
	publish(t, pub, "", "ranked", amqp091.Publishing{Body: []byte("spill")})
	who, spill := nextOf(t, high, low)
	if who != "low" || string(spill.Body) != "spill" {
		t.Fatalf("%s got %q while the high consumer's window was full, want low to get spill", who, spill.Body)
	}

	// Acked, the high consumer is active again and served first.
	must(t, spill.Ack(false))
	must(t, held.Ack(false))
	publish(t, pub, "", "ranked", amqp091.Publishing{Body: []byte("back")})
	if who, d := nextOf(t, high, low); who != "high" || string(d.Body) != "back" {
		t.Fatalf("%s got %q after the high consumer acked, want high", who, d.Body)
	}
}

func TestEqualConsumerPrioritiesShareBeforeFallingBack(t *testing.T) {
	tb := startBroker(t)
	conn, pub := tb.channel()
	_, err := pub.QueueDeclare("shared", false, false, false, false, nil)
	must(t, err)
	a := consumeRanked(t, conn, "shared", "a", int16(5))
	b := consumeRanked(t, conn, "shared", "b", int64(5))
	c := consumeRanked(t, conn, "shared", "c", int32(-1))

	for round := 0; round < 5; round++ {
		publish(t, pub, "", "shared", amqp091.Publishing{Body: []byte("x")})
		publish(t, pub, "", "shared", amqp091.Publishing{Body: []byte("y")})
		got := map[string]amqp091.Delivery{}
		for i := 0; i < 2; i++ {
			who, d := nextOf(t, a, b, c)
			if _, twice := got[who]; twice || who == "c" {
				t.Fatalf("round %d: %s got a second message or c was served while a priority-5 consumer was free", round, who)
			}
			got[who] = d
		}
		// Both priority-5 consumers hold their one delivery: c's turn.
		publish(t, pub, "", "shared", amqp091.Publishing{Body: []byte("z")})
		who, d := nextOf(t, a, b, c)
		if who != "c" {
			t.Fatalf("round %d: %s got the third message, want c", round, who)
		}
		must(t, d.Ack(false))
		must(t, got["a"].Ack(false))
		must(t, got["b"].Ack(false))
	}
}

func TestConsumerPriorityMustBeAnInteger(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("typed", false, false, false, false, nil)
	must(t, err)
	closed := ch.NotifyClose(make(chan *amqp091.Error, 1))
	_, err = ch.Consume("typed", "", false, false, false, false, amqp091.Table{"x-priority": "high"})
	if amqpCode(err) != amqp091.PreconditionFailed {
		t.Fatalf("x-priority as a string: %v, want 406", err)
	}
	e := <-closed
	want := "PRECONDITION_FAILED - invalid arg 'x-priority' for queue 'typed' in vhost '/': {unacceptable_type,longstr}"
	if e == nil || e.Reason != want {
		t.Fatalf("channel closed with %v, want %q", e, want)
	}
	_, ch = tb.channel()
	_, err = ch.Consume("typed", "", false, false, false, false, amqp091.Table{"x-priority": 2.5})
	if err == nil || !strings.Contains(err.Error(), "{unacceptable_type,double}") {
		t.Fatalf("x-priority as a double: %v", err)
	}
}

func TestRejectPublishDLXNacksAndDeadLetters(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	must(t, ch.ExchangeDeclare("overflow", "fanout", false, false, false, false, nil))
	_, err := ch.QueueDeclare("overflowed", false, false, false, false, nil)
	must(t, err)
	must(t, ch.QueueBind("overflowed", "", "overflow", false, nil))
	_, err = ch.QueueDeclare("bounded", false, false, false, false, amqp091.Table{
		"x-max-length": int32(1), "x-overflow": "reject-publish-dlx", "x-dead-letter-exchange": "overflow"})
	must(t, err)

	must(t, ch.Confirm(false))
	if !confirmedPublish(t, ch, "", "bounded", "first") {
		t.Fatal("the first publish was nacked")
	}
	if confirmedPublish(t, ch, "", "bounded", "second") {
		t.Fatal("a publish over x-max-length with reject-publish-dlx was acked")
	}

	dead, err := ch.Consume("overflowed", "", false, false, false, false, nil)
	must(t, err)
	d := next(t, dead)
	if string(d.Body) != "second" {
		t.Fatalf("dead-lettered %q, want the refused message", d.Body)
	}
	deaths, _ := d.Headers["x-death"].([]any)
	if len(deaths) != 1 {
		t.Fatalf("x-death %#v", d.Headers["x-death"])
	}
	death := deaths[0].(amqp091.Table)
	if death["queue"] != "bounded" || death["reason"] != "maxlen" || death["count"] != int64(1) || death["exchange"] != "" {
		t.Fatalf("x-death entry %#v", death)
	}
	if keys, _ := death["routing-keys"].([]any); len(keys) != 1 || keys[0] != "bounded" {
		t.Fatalf("routing-keys %#v", death["routing-keys"])
	}
	if d.Headers["x-first-death-reason"] != "maxlen" || d.Headers["x-first-death-queue"] != "bounded" ||
		d.Headers["x-first-death-exchange"] != "" {
		t.Fatalf("x-first-death-* %#v", d.Headers)
	}
	must(t, d.Ack(false))

	// The queue kept only what fitted.
	got, ok, err := ch.Get("bounded", true)
	must(t, err)
	if !ok || string(got.Body) != "first" {
		t.Fatalf("queue head %q %v, want first", got.Body, ok)
	}
	if _, ok, _ := ch.Get("bounded", true); ok {
		t.Fatal("the refused message was also enqueued")
	}
}
