package amqp

import (
	"context"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// confirmedPublish publishes body on a confirm-mode channel and reports
// whether the broker acked it; it fails the test if no confirm comes
// within 5 s.
func confirmedPublish(t *testing.T, ch *amqp091.Channel, exchange, key, body string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, amqp091.Publishing{Body: []byte(body)})
	must(t, err)
	acked, err := dc.WaitContext(ctx)
	must(t, err)
	return acked
}

// expectChannelClose waits for the server to close a channel and checks
// the code and the whole reply text.
func expectChannelClose(t *testing.T, closed <-chan *amqp091.Error, code int, reason string) {
	t.Helper()
	select {
	case e := <-closed:
		if e == nil || e.Code != code || e.Reason != reason {
			t.Fatalf("channel closed with %v, want %d %q", e, code, reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("channel not closed, want %d %q", code, reason)
	}
}

func TestPublishToInternalExchangeRefused(t *testing.T) {
	tb := startBroker(t)
	conn, ch := tb.channel()
	must(t, ch.ExchangeDeclare("front", "fanout", false, false, false, false, nil))
	must(t, ch.ExchangeDeclare("hidden", "fanout", false, false, true, false, nil))
	must(t, ch.ExchangeBind("hidden", "", "front", false, nil))
	q, err := ch.QueueDeclare("behind-hidden", false, false, false, false, nil)
	must(t, err)
	must(t, ch.QueueBind(q.Name, "", "hidden", false, nil))
	ds, err := ch.Consume(q.Name, "", true, false, false, false, nil)
	must(t, err)

	pub, err := conn.Channel()
	must(t, err)
	closed := pub.NotifyClose(make(chan *amqp091.Error, 1))
	publish(t, pub, "hidden", "", amqp091.Publishing{Body: []byte("direct")})
	expectChannelClose(t, closed, 403, "ACCESS_REFUSED - cannot publish to internal exchange 'hidden' in vhost '/'")

	// Through the exchange-to-exchange binding the internal exchange routes
	// as usual, and the refused message never reached the queue.
	publish(t, ch, "front", "", amqp091.Publishing{Body: []byte("via front")})
	if d := next(t, ds); string(d.Body) != "via front" {
		t.Fatalf("got %q, want the message published to front", d.Body)
	}
}

// TestInternalFlagFollowsRedeclare: whether a publish is refused depends on
// the exchange as it is now, not as a channel last saw it.
func TestInternalFlagFollowsRedeclare(t *testing.T) {
	tb := startBroker(t)
	conn, admin := tb.channel()
	q, err := admin.QueueDeclare("flip-target", false, false, false, false, nil)
	must(t, err)
	declare := func(internal bool) {
		t.Helper()
		must(t, admin.ExchangeDelete("flip", false, false))
		must(t, admin.ExchangeDeclare("flip", "fanout", false, false, internal, false, nil))
		must(t, admin.QueueBind(q.Name, "", "flip", false, nil))
	}
	confirming := func() *amqp091.Channel {
		t.Helper()
		ch, err := conn.Channel()
		must(t, err)
		must(t, ch.Confirm(false))
		return ch
	}
	declare(false)
	stale, later := confirming(), confirming()
	for _, ch := range []*amqp091.Channel{stale, later} {
		if !confirmedPublish(t, ch, "flip", "", "while public") {
			t.Fatal("publish to a non-internal exchange was nacked")
		}
	}

	declare(true)
	closed := stale.NotifyClose(make(chan *amqp091.Error, 1))
	publish(t, stale, "flip", "", amqp091.Publishing{Body: []byte("now internal")})
	expectChannelClose(t, closed, 403, "ACCESS_REFUSED - cannot publish to internal exchange 'flip' in vhost '/'")

	declare(false)
	if !confirmedPublish(t, later, "flip", "", "public again") {
		t.Fatal("publish after redeclaring as non-internal was nacked")
	}
	for _, want := range []string{"while public", "while public", "public again"} {
		d, ok, err := admin.Get(q.Name, true)
		must(t, err)
		if !ok || string(d.Body) != want {
			t.Fatalf("get: %q (ok %v), want %q", d.Body, ok, want)
		}
	}
	if d, ok, _ := admin.Get(q.Name, true); ok {
		t.Fatalf("unexpected message %q: the refused publish was stored", d.Body)
	}
}

func TestExchangeRedeclareAlternateEquivalence(t *testing.T) {
	tb := startBroker(t)
	conn, ch := tb.channel()
	ae := func(name string) amqp091.Table { return amqp091.Table{"alternate-exchange": name} }
	must(t, ch.ExchangeDeclare("orders", "topic", true, false, false, false, ae("ae1")))
	must(t, ch.ExchangeDeclare("orders", "topic", true, false, false, false, ae("ae1")))
	must(t, ch.ExchangeDeclarePassive("orders", "topic", true, false, false, false, ae("other")))

	for _, tc := range []struct {
		args amqp091.Table
		text string
	}{
		{ae("ae2"), "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange 'orders' in vhost '/': " +
			"received the value 'ae2' of type 'longstr' but current is the value 'ae1' of type 'longstr'"},
		{nil, "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange 'orders' in vhost '/': " +
			"received none but current is the value 'ae1' of type 'longstr'"},
	} {
		other, err := conn.Channel()
		must(t, err)
		err = other.ExchangeDeclare("orders", "topic", true, false, false, false, tc.args)
		if e, ok := err.(*amqp091.Error); !ok || e.Code != 406 || e.Reason != tc.text {
			t.Fatalf("redeclare with %v: %v, want 406 %q", tc.args, err, tc.text)
		}
	}

	// The other way round: no alternate declared, one asked for. Flags are
	// still checked before the argument, as RabbitMQ does.
	must(t, ch.ExchangeDeclare("plain", "direct", false, false, false, false, nil))
	other, err := conn.Channel()
	must(t, err)
	err = other.ExchangeDeclare("plain", "direct", false, false, false, false, ae("ae1"))
	want := "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange 'plain' in vhost '/': " +
		"received the value 'ae1' of type 'longstr' but current is none"
	if e, ok := err.(*amqp091.Error); !ok || e.Code != 406 || e.Reason != want {
		t.Fatalf("redeclare adding an alternate: %v, want 406 %q", err, want)
	}
	other, err = conn.Channel()
	must(t, err)
	err = other.ExchangeDeclare("plain", "direct", true, false, false, false, ae("ae1"))
	want = "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'plain' in vhost '/': received 'true' but current is 'false'"
	if e, ok := err.(*amqp091.Error); !ok || e.Code != 406 || e.Reason != want {
		t.Fatalf("redeclare with durable and an alternate: %v, want 406 %q", err, want)
	}
}
