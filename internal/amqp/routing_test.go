package amqp

import (
	"context"
	"fmt"
	"strings"
	"testing"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

func TestFanoutAndTopicRouting(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	must(t, ch.ExchangeDeclare("events", "fanout", true, false, false, false, nil))
	must(t, ch.ExchangeDeclare("logs", "topic", true, false, false, false, nil))
	var fan []string
	for i := 0; i < 3; i++ {
		q, err := ch.QueueDeclare("", false, true, true, false, nil)
		must(t, err)
		if !strings.HasPrefix(q.Name, "amq.gen-") {
			t.Fatalf("server-named queue %q", q.Name)
		}
		must(t, ch.QueueBind(q.Name, "", "events", false, nil))
		fan = append(fan, q.Name)
	}
	publish(t, ch, "events", "ignored", amqp091.Publishing{Body: []byte("all")})
	for _, q := range fan {
		d, ok, err := ch.Get(q, true)
		must(t, err)
		if !ok || string(d.Body) != "all" || d.Exchange != "events" {
			t.Fatalf("fanout to %s: %v %q", q, ok, d.Body)
		}
	}
	for _, b := range []struct{ q, key string }{{"errors", "*.error"}, {"kern", "kern.#"}, {"all", "#"}} {
		_, err := ch.QueueDeclare(b.q, false, false, false, false, nil)
		must(t, err)
		must(t, ch.QueueBind(b.q, b.key, "logs", false, nil))
	}
	publish(t, ch, "logs", "kern.error", amqp091.Publishing{Body: []byte("1")})
	publish(t, ch, "logs", "app.error", amqp091.Publishing{Body: []byte("2")})
	publish(t, ch, "logs", "kern.info.x", amqp091.Publishing{Body: []byte("3")})
	want := map[string]string{"errors": "12", "kern": "13", "all": "123"}
	for q, bodies := range want {
		got := ""
		for {
			d, ok, err := ch.Get(q, true)
			must(t, err)
			if !ok {
				break
			}
			got += string(d.Body)
		}
		if got != bodies {
			t.Errorf("queue %s got %q, want %q", q, got, bodies)
		}
	}
	// Exchange-to-exchange and unbind.
	must(t, ch.ExchangeBind("logs", "#", "events", false, nil))
	publish(t, ch, "events", "x.error", amqp091.Publishing{Body: []byte("e2e")})
	if d, ok, _ := ch.Get("errors", true); !ok || string(d.Body) != "e2e" {
		t.Fatal("exchange-to-exchange binding did not route")
	}
	must(t, ch.QueueUnbind("errors", "*.error", "logs", nil))
	publish(t, ch, "logs", "a.error", amqp091.Publishing{Body: []byte("x")})
	if _, ok, _ := ch.Get("errors", true); ok {
		t.Fatal("unbound queue still receives")
	}
}

func TestHeadersExchange(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("hq", false, false, false, false, nil)
	must(t, err)
	must(t, ch.QueueBind("hq", "", "amq.headers", false, amqp091.Table{"x-match": "all", "type": "order", "v": int32(2)}))
	publish(t, ch, "amq.headers", "", amqp091.Publishing{Headers: amqp091.Table{"type": "order", "v": int32(2)}, Body: []byte("yes")})
	publish(t, ch, "amq.headers", "", amqp091.Publishing{Headers: amqp091.Table{"type": "order"}, Body: []byte("no")})
	d, ok, err := ch.Get("hq", true)
	must(t, err)
	if !ok || string(d.Body) != "yes" {
		t.Fatal("headers exchange did not match")
	}
	if _, ok, _ := ch.Get("hq", true); ok {
		t.Fatal("headers exchange matched a partial set")
	}
	// A bad x-match closes the channel with 406, not the connection.
	conn, ch := tb.channel()
	err = ch.QueueBind("hq", "", "amq.headers", false, amqp091.Table{"x-match": "bogus"})
	if amqpCode(err) != amqp091.PreconditionFailed {
		t.Fatalf("bind with x-match bogus: %v, want 406", err)
	}
	if conn.IsClosed() {
		t.Fatal("a bad x-match closed the connection")
	}
}

// rpcServer answers each request on queue with its body upper-cased.
func rpcServer(t *testing.T, tb *testBroker, queue string) {
	_, ch := tb.channel()
	_, err := ch.QueueDeclare(queue, false, false, false, false, nil)
	must(t, err)
	ds, err := ch.Consume(queue, "", false, false, false, false, nil)
	must(t, err)
	go func() {
		for d := range ds {
			ch.PublishWithContext(context.Background(), "", d.ReplyTo, false, false, amqp091.Publishing{
				CorrelationId: d.CorrelationId, Body: []byte(strings.ToUpper(string(d.Body)))})
			d.Ack(false)
		}
	}()
}

func TestRPCWithExclusiveReplyQueue(t *testing.T) {
	tb := startBroker(t)
	rpcServer(t, tb, "rpc")
	_, ch := tb.channel()
	reply, err := ch.QueueDeclare("", false, true, true, false, nil)
	must(t, err)
	ds, err := ch.Consume(reply.Name, "", true, true, false, false, nil)
	must(t, err)
	for i := 0; i < 3; i++ {
		id := fmt.Sprint("corr-", i)
		publish(t, ch, "", "rpc", amqp091.Publishing{ReplyTo: reply.Name, CorrelationId: id, Body: []byte(fmt.Sprint("req", i))})
		d := next(t, ds)
		if d.CorrelationId != id || string(d.Body) != fmt.Sprint("REQ", i) {
			t.Fatalf("reply %q %q", d.CorrelationId, d.Body)
		}
	}
	// Another connection cannot use the exclusive reply queue.
	_, other := tb.channel()
	_, err = other.QueueDeclarePassive(reply.Name, false, true, true, false, nil)
	if amqpCode(err) != 405 {
		t.Fatalf("passive declare of another connection's exclusive queue: %v", err)
	}
}

func TestRPCWithDirectReplyTo(t *testing.T) {
	tb := startBroker(t)
	rpcServer(t, tb, "rpc2")
	_, ch := tb.channel()
	ds, err := ch.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
	must(t, err)
	for i := 0; i < 3; i++ {
		id := fmt.Sprint("c", i)
		publish(t, ch, "", "rpc2", amqp091.Publishing{ReplyTo: "amq.rabbitmq.reply-to", CorrelationId: id, Body: []byte("ping")})
		d := next(t, ds)
		if d.CorrelationId != id || string(d.Body) != "PING" {
			t.Fatalf("direct reply %q %q", d.CorrelationId, d.Body)
		}
	}
}

func TestEmptyQueueNameMeansLastDeclared(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	must(t, err)
	must(t, ch.QueueBind("", "k", "amq.direct", false, nil))
	publish(t, ch, "amq.direct", "k", amqp091.Publishing{Body: []byte("via last")})
	d, ok, err := ch.Get("", true)
	must(t, err)
	if !ok || string(d.Body) != "via last" || d.RoutingKey != "k" {
		t.Fatalf("get from %s: %v %q", q.Name, ok, d.Body)
	}
	_, fresh := tb.channel()
	if _, _, err := fresh.Get("", true); amqpCode(err) != 404 {
		t.Fatalf("empty name with nothing declared: %v", err)
	}
}
