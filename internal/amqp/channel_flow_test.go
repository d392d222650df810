package amqp

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

// publishBacklog fills a queue with more than the socket buffers and the
// server's write buffer hold, so that a consumer that stops reading leaves
// the server's consumer stuck writing a batch.
func publishBacklog(t *testing.T, pub *amqp091.Channel, queue string, total int) {
	t.Helper()
	_, err := pub.QueueDeclare(queue, false, false, false, false, nil)
	must(t, err)
	must(t, pub.Confirm(false))
	body := make([]byte, 4000)
	for i := range total {
		dc, err := pub.PublishWithDeferredConfirmWithContext(t.Context(), "", queue, false, false, amqp091.Publishing{Body: body})
		must(t, err)
		if i == total-1 && !dc.Wait() {
			t.Fatal("last publish nacked")
		}
	}
}

// pauseWhileDelivering starts a consumer on a raw connection, pauses its
// channel once deliveries flow, and returns how many came before
// channel.flow-ok.
func pauseWhileDelivering(t *testing.T, tb *testBroker, queue string, noAck bool, total int) (*rawClient, int) {
	t.Helper()
	rc := dialRaw(t, tb.addr)
	rc.handshake()
	rc.send(1, &wire.BasicConsume{Queue: queue, ConsumerTag: "c", NoAck: noAck})
	rc.expect(&wire.BasicConsumeOK{})
	rc.expect(&wire.BasicDeliver{}) // the consumer is delivering
	rc.send(1, &wire.ChannelFlow{Active: false})
	before := 1
	for {
		_, m := rc.read()
		if _, ok := m.(*wire.ChannelFlowOK); ok {
			break
		}
		if _, ok := m.(*wire.BasicDeliver); !ok {
			t.Fatalf("got %s before channel.flow-ok", m.Name())
		}
		before++
	}
	if before == total {
		t.Fatal("the whole backlog went out before channel.flow-ok: the test proves nothing")
	}
	return rc, before
}

// After channel.flow-ok(active=false) nothing more is delivered on the
// channel, as in RabbitMQ: deliveries under way go out before the flow-ok,
// none after it. The raw client reads the frames in the order they were
// written; it reads nothing while it asks, so the server's consumer is
// usually holding a received batch at that moment.
func TestChannelFlowOKIsTheLastFrameBeforeThePause(t *testing.T) {
	tb := startBroker(t)
	_, pub := tb.channel()
	const total = 3000
	for _, noAck := range []bool{true, false} {
		// A backlog of its own: pauseWhileDelivering's check that some of
		// it was left for after the flow-ok needs to know how much there is.
		queue := fmt.Sprint("backlog-noack-", noAck)
		publishBacklog(t, pub, queue, total)
		rc, before := pauseWhileDelivering(t, tb, queue, noAck, total)
		after := 0
		rc.nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for {
			f, err := wire.ReadFrame(rc.r, 1<<20)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			must(t, err)
			if f.Type == wire.FrameMethod {
				after++
			}
		}
		if after != 0 {
			t.Fatalf("noAck %v: %d deliveries after channel.flow-ok (%d before)", noAck, after, before)
		}
		rc.nc.Close() // unacked deliveries go back to the queue
	}
}

// basic.cancel of a paused consumer returns what it had received but not
// sent to the queue at once; what it sent stays unacked with the channel.
func TestChannelFlowCancelWhilePausedReturnsTheHeldBatch(t *testing.T) {
	tb := startBroker(t)
	_, pub := tb.channel()
	const total = 3000
	publishBacklog(t, pub, "held", total)
	rc, before := pauseWhileDelivering(t, tb, "held", false, total)
	rc.send(1, &wire.BasicCancel{ConsumerTag: "c"})
	rc.expect(&wire.BasicCancelOK{})
	q, err := pub.QueueDeclarePassive("held", false, false, false, false, nil)
	must(t, err)
	if q.Messages != total-before {
		t.Fatalf("%d ready after the cancel, want %d (%d were delivered)", q.Messages, total-before, before)
	}
}

// A consumer waiting for a message when its channel is paused does not take
// the next one published: it stays in the queue for others (here a
// basic.get) and the consumer gets what comes after channel.flow(true).
func TestChannelFlowPausedConsumerLeavesNewMessagesInTheQueue(t *testing.T) {
	for _, noAck := range []bool{true, false} {
		t.Run(fmt.Sprintf("noAck=%v", noAck), func(t *testing.T) {
			tb := startBroker(t)
			_, pub := tb.channel()
			_, err := pub.QueueDeclare("paused", false, false, false, false, nil)
			must(t, err)
			_, cch := tb.channel()
			ds, err := cch.Consume("paused", "", noAck, false, false, false, nil)
			must(t, err)
			// One delivery first: the consumer's goroutine is running and
			// goes back to waiting for the next message.
			publish(t, pub, "", "paused", amqp091.Publishing{Body: []byte("first")})
			if d := next(t, ds); !noAck {
				must(t, d.Ack(false))
			}
			must(t, cch.Flow(false))

			publish(t, pub, "", "paused", amqp091.Publishing{Body: []byte("while paused")})
			none(t, ds)
			got, ok, err := pub.Get("paused", true)
			must(t, err)
			if !ok || string(got.Body) != "while paused" {
				t.Fatalf("basic.get while the consumer is paused: ok %v, body %q", ok, got.Body)
			}

			must(t, cch.Flow(true))
			publish(t, pub, "", "paused", amqp091.Publishing{Body: []byte("resumed")})
			if d := next(t, ds); string(d.Body) != "resumed" {
				t.Fatalf("after channel.flow(true) got %q", d.Body)
			}
		})
	}
}
