package amqp

import (
	"fmt"
	"slices"
	"testing"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// TestMultipleSettlementAfterSingleOnes mixes single and multiple acks and
// nacks: a multiple one settles exactly the tags up to its own that are
// still unacked, and one naming only tags already settled is a no-op, not
// an unknown-tag error.
func TestMultipleSettlementAfterSingleOnes(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("mixed", false, false, false, false, nil)
	must(t, err)
	for i := 1; i <= 10; i++ {
		publish(t, ch, "", "mixed", amqp091.Publishing{Body: []byte(fmt.Sprint(i))})
	}
	conn, cch := tb.channel()
	closed := conn.NotifyClose(make(chan *amqp091.Error, 1))
	chClosed := cch.NotifyClose(make(chan *amqp091.Error, 1))
	must(t, cch.Qos(10, 0, false))
	ds, err := cch.Consume("mixed", "", false, false, false, false, nil)
	must(t, err)
	for i := 1; i <= 10; i++ {
		if d := next(t, ds); string(d.Body) != fmt.Sprint(i) || d.DeliveryTag != uint64(i) {
			t.Fatalf("delivery %d: body %q tag %d", i, d.Body, d.DeliveryTag)
		}
	}
	must(t, cch.Ack(3, false))
	must(t, cch.Ack(5, true))        // 1, 2, 4, 5
	must(t, cch.Ack(2, true))        // all settled already
	must(t, cch.Ack(9, false))       // 9
	must(t, cch.Nack(8, true, true)) // 6, 7, 8 back to the queue
	// The channel is still open: a synchronous method answers.
	if _, err := cch.QueueDeclarePassive("mixed", false, false, false, false, nil); err != nil {
		t.Fatalf("channel closed by the settlements: %v", err)
	}
	must(t, cch.Close()) // 10 goes back too
	select {
	case e := <-chClosed:
		if e != nil {
			t.Fatalf("channel closed with %v", e)
		}
	case e := <-closed:
		t.Fatalf("connection closed with %v", e)
	default:
	}
	var left []string
	for {
		d, ok, err := ch.Get("mixed", true)
		must(t, err)
		if !ok {
			break
		}
		left = append(left, string(d.Body))
	}
	slices.Sort(left)
	if want := []string{"10", "6", "7", "8"}; !slices.Equal(left, want) {
		t.Fatalf("left in the queue: %v, want %v", left, want)
	}
}
