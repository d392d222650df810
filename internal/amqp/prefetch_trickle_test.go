package amqp

import (
	"fmt"
	"testing"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// TestPrefetchFillsTheWholeWindowOneAtATime publishes to a consumer with
// prefetch 8 one message at a time and acks nothing: as in RabbitMQ, each
// of the 8 is delivered while the window has room. A consumer that acks a
// full window at once (ack every prefetch) waits for the last ones, so
// holding them back until a quarter of the window is free stalls it.
func TestPrefetchFillsTheWholeWindowOneAtATime(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("trickle", false, false, false, false, nil)
	must(t, err)
	_, cch := tb.channel()
	must(t, cch.Qos(8, 0, false))
	ds, err := cch.Consume("trickle", "", false, false, false, false, nil)
	must(t, err)
	for i := range 8 {
		publish(t, ch, "", "trickle", amqp091.Publishing{Body: []byte(fmt.Sprint(i))})
		if d := next(t, ds); string(d.Body) != fmt.Sprint(i) {
			t.Fatalf("delivery %d carries %q", i, d.Body)
		}
	}
	publish(t, ch, "", "trickle", amqp091.Publishing{Body: []byte("9th")})
	none(t, ds) // the window is full
}
