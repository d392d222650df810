package broker_test

import (
	"testing"

	"github.com/gannet-mq/gannet/internal/broker"
)

// On a headers exchange an argument with no value (the header must be
// present) and one with an empty value (the header must be empty) are
// different bindings; replaying an unbind must remove the right one.
func TestUnbindReplayTellsNilArgumentFromEmpty(t *testing.T) {
	h := newHarness(t)
	if _, err := h.b.DeclareExchange(broker.ExchangeConfig{Name: "hx", Kind: "headers", Durable: true}); err != nil {
		t.Fatal(err)
	}
	h.queue("q", broker.StreamConfig{})
	present := broker.BindingConfig{Exchange: "hx", Destination: "q", Args: map[string][]byte{"h": nil}}
	empty := broker.BindingConfig{Exchange: "hx", Destination: "q", Args: map[string][]byte{"h": {}}}
	for _, c := range []broker.BindingConfig{present, empty} {
		if err := h.b.Bind(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.b.Unbind(empty); err != nil {
		t.Fatal(err)
	}
	h.restart()
	bs := h.b.Bindings("hx")
	if len(bs) != 1 || bs[0].Args["h"] != nil {
		t.Fatalf("bindings after restart = %+v, want only the one with a nil argument", bs)
	}
	// Any value matches the surviving binding, not only an empty one.
	msg := broker.Message{Value: []byte("1"), Headers: []broker.Header{{Key: "h", Value: []byte("v")}}}
	if r, err := h.b.Publish("hx", "", msg, broker.PublishOptions{}); err != nil || r.Routed != 1 {
		t.Fatalf("message with the header routed to %d streams, err %v", r.Routed, err)
	}
}
