package amqp

import (
	"testing"

	amqp091 "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"
)

// TestNoGoroutineLeaks runs consumers, confirms, direct reply-to and
// heartbeats, then shuts down: every goroutine the front-end started ends.
func TestNoGoroutineLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	tb := startBroker(t)
	conn, err := amqp091.DialConfig(tb.url(), amqp091.Config{Heartbeat: 1e9})
	must(t, err)
	ch, err := conn.Channel()
	must(t, err)
	_, err = ch.QueueDeclare("leak", true, false, false, false, nil)
	must(t, err)
	must(t, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, 10))
	ds, err := ch.Consume("leak", "", false, false, false, false, nil)
	must(t, err)
	_, err = ch.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
	must(t, err)
	publish(t, ch, "", "leak", amqp091.Publishing{Body: []byte("x")})
	<-confirms
	next(t, ds) // left unacked on purpose
	conn.Close()
	tb.stop()
}
