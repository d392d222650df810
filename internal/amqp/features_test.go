package amqp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/gannet-mq/gannet/internal/alarm"
	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

func TestExclusiveQueueGoesWithConnection(t *testing.T) {
	tb := startBroker(t)
	conn, ch := tb.channel()
	_, err := ch.QueueDeclare("mine", false, false, true, false, nil)
	must(t, err)
	conn.Close()
	_, ch2 := tb.channel()
	_, err = ch2.QueueDeclarePassive("mine", false, false, true, false, nil)
	if amqpCode(err) != 404 {
		t.Fatalf("exclusive queue survived its connection: %v", err)
	}
}

func TestAutoDeleteQueue(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("ad", false, true, false, false, nil)
	must(t, err)
	_, err = ch.Consume("ad", "tag", false, false, false, false, nil)
	must(t, err)
	must(t, ch.Cancel("tag", false))
	_, ch2 := tb.channel()
	if _, err := ch2.QueueDeclarePassive("ad", false, true, false, false, nil); amqpCode(err) != 404 {
		t.Fatalf("auto-delete queue kept after its last consumer: %v", err)
	}
}

func TestTransactions(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("tx", true, false, false, false, nil)
	must(t, err)
	must(t, ch.Tx())
	publish(t, ch, "", "tx", amqp091.Publishing{Body: []byte("rolled back")})
	must(t, ch.TxRollback())
	publish(t, ch, "", "tx", amqp091.Publishing{Body: []byte("committed")})
	// A synchronous method on the same channel: the server has handled both
	// publishes before the check below, so it cannot pass by being early.
	_, err = ch.QueueDeclarePassive("tx", true, false, false, false, nil)
	must(t, err)
	_, other := tb.channel()
	if _, ok, _ := other.Get("tx", true); ok {
		t.Fatal("uncommitted publish visible")
	}
	must(t, ch.TxCommit())
	d, ok, err := other.Get("tx", true)
	must(t, err)
	if !ok || string(d.Body) != "committed" {
		t.Fatalf("after commit: %v %q", ok, d.Body)
	}
	if _, ok, _ := other.Get("tx", true); ok {
		t.Fatal("rolled back publish delivered")
	}
}

// TestTransactionIntoFullQueue commits a publish that a full reject-publish
// queue refuses: RabbitMQ drops it and commits; the connection stays up.
func TestTransactionIntoFullQueue(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("rp", false, false, false, false, amqp091.Table{"x-max-length": int32(1), "x-overflow": "reject-publish"})
	must(t, err)
	must(t, ch.Tx())
	publish(t, ch, "", "rp", amqp091.Publishing{Body: []byte("a")})
	publish(t, ch, "", "rp", amqp091.Publishing{Body: []byte("b")})
	must(t, ch.TxCommit())
	q, err := ch.QueueDeclarePassive("rp", false, false, false, false, nil)
	must(t, err)
	if q.Messages != 1 {
		t.Fatalf("queue holds %d messages after the commit, want 1", q.Messages)
	}
	d, ok, err := ch.Get("rp", true)
	must(t, err)
	if !ok || string(d.Body) != "a" {
		t.Fatalf("got %v %q, want the first publish", ok, d.Body)
	}
}

func TestRecoverRedelivers(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("rec", false, false, false, false, nil)
	must(t, err)
	publish(t, ch, "", "rec", amqp091.Publishing{Body: []byte("m")})
	ds, err := ch.Consume("rec", "", false, false, false, false, nil)
	must(t, err)
	if d := next(t, ds); d.Redelivered {
		t.Fatal("first delivery marked redelivered")
	}
	must(t, ch.Recover(true))
	d := next(t, ds)
	if !d.Redelivered {
		t.Fatal("recovered delivery not marked redelivered")
	}
	must(t, d.Ack(false))
}

// TestConnectionBlockedByResourceAlarms: while the memory or disk alarm is
// raised a publish is held, its connection gets connection.blocked with
// RabbitMQ's reason, and the publish completes once the alarm clears. A
// connection that only consumes is not blocked, as in RabbitMQ.
func TestConnectionBlockedByResourceAlarms(t *testing.T) {
	for _, tc := range []struct {
		raised alarm.Resource
		reason string
	}{
		{alarm.Memory, "low on memory"},
		{alarm.Disk, "low on disk"},
		{alarm.Memory | alarm.Disk, "low on memory & disk"},
	} {
		t.Run(tc.raised.String(), func(t *testing.T) {
			alarms := alarm.NewFake()
			tb := startBroker(t, func(c *Config) { c.Alarms = alarms.Monitor })
			consumerConn, observer := tb.channel()
			consumerBlocked := consumerConn.NotifyBlocked(make(chan amqp091.Blocking, 2))
			confirms, blocked, reason := heldPublish(t, alarms, tc.raised, tb.dial())
			if reason != tc.reason {
				t.Fatalf("connection.blocked reason %q, want %q", reason, tc.reason)
			}
			// connection.blocked is sent by the reader as it starts holding
			// the publish, so the message cannot be in the queue yet.
			if q, err := observer.QueueDeclarePassive("held", false, false, false, false, nil); err != nil || q.Messages != 0 {
				t.Fatalf("the held publish reached the queue: %+v %v", q, err)
			}
			select {
			case c := <-confirms:
				t.Fatalf("publish confirmed while the alarm is raised: %+v", c)
			default:
			}

			releaseHeld(t, alarms, confirms, blocked, nil)
			select {
			case b := <-consumerBlocked:
				t.Fatalf("a connection that never published was blocked: %+v", b)
			default:
			}
		})
	}
}

func TestHeartbeats(t *testing.T) {
	tb := startBroker(t, func(c *Config) { c.Heartbeat = time.Second })
	conn, err := amqp091.DialConfig(tb.url(), amqp091.Config{Heartbeat: time.Second})
	must(t, err)
	defer conn.Close()
	time.Sleep(2500 * time.Millisecond) // idle: only heartbeats keep it open
	ch, err := conn.Channel()
	must(t, err)
	_, err = ch.QueueDeclare("", false, true, true, false, nil)
	must(t, err)
	// A client that stops sending is dropped after two intervals.
	raw := dialRaw(t, tb.addr)
	raw.write([]byte(wire.ProtocolHeader))
	raw.expect(&wire.ConnectionStart{})
	raw.send(0, &wire.ConnectionStartOK{Mechanism: "PLAIN", Response: "\x00guest\x00guest"})
	raw.expect(&wire.ConnectionTune{})
	raw.send(0, &wire.ConnectionTuneOK{FrameMax: 4096, Heartbeat: 1})
	raw.send(0, &wire.ConnectionOpen{VirtualHost: "/"})
	raw.expect(&wire.ConnectionOpenOK{})
	start := time.Now()
	raw.expectEOF()
	if time.Since(start) > 5*time.Second {
		t.Fatal("silent client not dropped")
	}
}

func TestChannelCloseAndCancelSemantics(t *testing.T) {
	tb := startBroker(t)
	conn, ch := tb.channel()
	_, err := ch.QueueDeclare("cc", false, false, false, false, nil)
	must(t, err)
	for i := 0; i < 2; i++ {
		publish(t, ch, "", "cc", amqp091.Publishing{Body: []byte(fmt.Sprint(i))})
	}
	// After basic.cancel the unacked delivery can still be acked.
	c1, err := conn.Channel()
	must(t, err)
	ds, err := c1.Consume("cc", "t1", false, false, false, false, nil)
	must(t, err)
	d0 := next(t, ds)
	d1 := next(t, ds)
	must(t, c1.Cancel("t1", false))
	must(t, d0.Ack(false))
	// Closing the channel returns the other one, marked redelivered.
	must(t, c1.Close())
	_ = d1
	d, ok, err := ch.Get("cc", false)
	must(t, err)
	if !ok || string(d.Body) != "1" || !d.Redelivered {
		t.Fatalf("after channel close: %v %q redelivered=%v", ok, d.Body, d.Redelivered)
	}
	must(t, d.Ack(false))
	if _, ok, _ := ch.Get("cc", true); ok {
		t.Fatal("the acked message came back")
	}
}

// TestPacingNeverHoldsPublishersForSlowConsumers: a queue whose consumer
// does not keep up still takes a burst (pacing gives up), so every publish
// is confirmed and the backlog is kept.
func TestPacingNeverHoldsPublishersForSlowConsumers(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("slow", true, false, false, false, nil)
	must(t, err)
	_, cch := tb.channel()
	must(t, cch.Qos(1, 0, false))
	_, err = cch.Consume("slow", "", false, false, false, false, nil) // never acks
	must(t, err)
	must(t, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, 2000))
	for i := 0; i < 2000; i++ {
		publish(t, ch, "", "slow", amqp091.Publishing{Body: []byte("x")})
	}
	for i := 0; i < 2000; i++ {
		select {
		case c := <-confirms:
			if !c.Ack {
				t.Fatal("nack")
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of 2000 publishes confirmed", i)
		}
	}
	q, err := ch.QueueDeclarePassive("slow", true, false, false, false, nil)
	must(t, err)
	if q.Messages != 1999 {
		t.Fatalf("%d ready messages, want 1999", q.Messages)
	}
}

func TestConsumerCancelNotifyAndExclusiveConsumer(t *testing.T) {
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("gone", false, false, false, false, nil)
	must(t, err)
	cancels := ch.NotifyCancel(make(chan string, 1))
	_, err = ch.Consume("gone", "watcher", false, true, false, false, nil)
	must(t, err)
	_, other := tb.channel()
	if _, err := other.Consume("gone", "second", false, false, false, false, nil); amqpCode(err) != 403 {
		t.Fatalf("consume beside an exclusive consumer: %v", err)
	}
	_, other = tb.channel()
	_, err = other.QueueDelete("gone", false, false, false)
	must(t, err)
	select {
	case tag := <-cancels:
		if tag != "watcher" {
			t.Fatalf("cancelled %q", tag)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no basic.cancel after the queue was deleted")
	}
}

func TestConsumerTimeoutClosesChannel(t *testing.T) {
	tb := startBroker(t, func(c *Config) { c.ConsumerTimeout = 100 * time.Millisecond })
	conn, ch := tb.channel()
	_, err := ch.QueueDeclare("stuck", false, false, false, false, nil)
	must(t, err)
	publish(t, ch, "", "stuck", amqp091.Publishing{Body: []byte("held")})
	closed := ch.NotifyClose(make(chan *amqp091.Error, 1))
	ds, err := ch.Consume("stuck", "", false, false, false, false, nil)
	must(t, err)
	next(t, ds) // never acked
	other, err := conn.Channel()
	must(t, err)
	deadline := time.After(5 * time.Second)
	for {
		// Any traffic on the connection lets the reader check.
		_, err := other.QueueDeclarePassive("stuck", false, false, false, false, nil)
		must(t, err)
		select {
		case e := <-closed:
			if e == nil || e.Code != 406 || !strings.Contains(e.Reason, "timed out") {
				t.Fatalf("channel closed with %v", e)
			}
			// The message went back to the queue.
			d, ok, err := other.Get("stuck", true)
			must(t, err)
			if !ok || !d.Redelivered {
				t.Fatal("timed-out delivery not returned to the queue")
			}
			return
		case <-deadline:
			t.Fatal("channel not closed after the consumer timeout")
		case <-time.After(200 * time.Millisecond):
		}
	}
}
