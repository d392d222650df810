package broker_test

import (
	"errors"
	"testing"

	"github.com/gannet-mq/gannet/internal/broker"
)

// TestInternalExchangeRefusesDirectPublish: a client cannot publish to an
// internal exchange, but bindings from another exchange and dead-lettering
// (as in RabbitMQ) still route through it.
func TestInternalExchangeRefusesDirectPublish(t *testing.T) {
	h := newHarness(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := h.b.DeclareExchange(broker.ExchangeConfig{Name: "hidden", Kind: "fanout", Durable: true, Internal: true})
	must(err)
	_, err = h.b.DeclareExchange(broker.ExchangeConfig{Name: "front", Kind: "fanout", Durable: true})
	must(err)
	sink := h.queue("sink", broker.StreamConfig{})
	must(h.b.Bind(broker.BindingConfig{Exchange: "hidden", Destination: "sink"}))
	must(h.b.Bind(broker.BindingConfig{Exchange: "front", Destination: "hidden", ToExchange: true}))

	r, err := h.b.Publish("hidden", "", broker.Message{Value: []byte("direct")}, broker.PublishOptions{})
	var internal *broker.InternalExchangeError
	if !errors.Is(err, broker.ErrInternalExchange) || !errors.As(err, &internal) || internal.Exchange != "hidden" {
		t.Fatalf("publish to internal exchange: %v (%T)", err, err)
	}
	if errors.Is(err, broker.ErrNotFound) || r.Routed != 0 {
		t.Fatalf("refused publish: routed %d, matches ErrNotFound %v", r.Routed, errors.Is(err, broker.ErrNotFound))
	}
	if got := h.receive(sink, "c", 10, 0); len(got) != 0 {
		t.Fatalf("refused publish was stored: %q", bodies(got))
	}

	if r := h.publish("front", "", "via-binding", broker.PublishOptions{}); r.Routed != 1 {
		t.Fatalf("publish through the binding routed to %d streams, want 1", r.Routed)
	}
	expectBodies(t, h.receive(sink, "c", 10, 0), "via-binding")

	orders := h.queue("orders", broker.StreamConfig{Group: broker.GroupConfig{
		DeadLetter: &broker.DeadLetterTarget{Exchange: "hidden"}}})
	h.publish("", "orders", "dead", broker.PublishOptions{})
	ds := h.receive(orders, "c", 1, 0)
	if n, _ := orders.Reject(ref(ds[0])); n != 1 {
		t.Fatalf("Reject = %d", n)
	}
	expectBodies(t, h.receive(sink, "c", 10, 0), "dead")

	// The rule is the exchange's current flag: redeclared as not internal,
	// the same name takes direct publishes.
	must(h.b.DeleteExchange("hidden", false))
	_, err = h.b.DeclareExchange(broker.ExchangeConfig{Name: "hidden", Kind: "fanout", Durable: true})
	must(err)
	if _, err := h.b.Publish("hidden", "", broker.Message{Value: []byte("x")}, broker.PublishOptions{}); err != nil {
		t.Fatalf("publish to the redeclared, non-internal exchange: %v", err)
	}
}

// TestExchangeRedeclareComparesAlternate: the alternate exchange is part of
// an exchange's identity on redeclare, absent included.
func TestExchangeRedeclareComparesAlternate(t *testing.T) {
	h := newHarness(t)
	base := broker.ExchangeConfig{Name: "orders", Kind: "topic", Durable: true, Alternate: "ae1"}
	if created, err := h.b.DeclareExchange(base); err != nil || !created {
		t.Fatalf("declare: created %v, %v", created, err)
	}
	if created, err := h.b.DeclareExchange(base); err != nil || created {
		t.Fatalf("same redeclare: created %v, %v", created, err)
	}
	for _, alt := range []string{"ae2", ""} {
		other := base
		other.Alternate = alt
		if _, err := h.b.DeclareExchange(other); !errors.Is(err, broker.ErrExists) {
			t.Fatalf("redeclare with alternate %q: %v, want ErrExists", alt, err)
		}
	}
	cur, err := h.b.Exchange("orders")
	if err != nil || cur.Alternate != "ae1" {
		t.Fatalf("after refused redeclares: %+v, %v", cur, err)
	}
}
