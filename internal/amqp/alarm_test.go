package amqp

import (
	"context"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/gannet-mq/gannet/internal/alarm"
)

// heldPublish raises alarms on the monitor, publishes in confirm mode on a
// new channel of conn to queue "held" and returns once the client has been
// told connection.blocked, which the server sends as it starts holding the
// publish; reason is what it said.
func heldPublish(t *testing.T, alarms *alarm.Fake, raised alarm.Resource, conn *amqp091.Connection) (
	confirms <-chan amqp091.Confirmation, blocked <-chan amqp091.Blocking, reason string) {
	t.Helper()
	ch, err := conn.Channel()
	must(t, err)
	blocked = conn.NotifyBlocked(make(chan amqp091.Blocking, 2))
	_, err = ch.QueueDeclare("held", false, false, false, false, nil)
	must(t, err)
	must(t, ch.Confirm(false))
	confirms = ch.NotifyPublish(make(chan amqp091.Confirmation, 1))
	alarms.Set(raised)
	publish(t, ch, "", "held", amqp091.Publishing{Body: []byte("m")})
	b := nextBlocking(t, blocked)
	if !b.Active {
		t.Fatalf("blocking: %+v", b)
	}
	return confirms, blocked, b.Reason
}

// releaseHeld clears the alarms and expects connection.unblocked, then the
// ack of the held publish; closed, unless nil, fails the test if the
// connection closes first.
func releaseHeld(t *testing.T, alarms *alarm.Fake, confirms <-chan amqp091.Confirmation,
	blocked <-chan amqp091.Blocking, closed <-chan *amqp091.Error) {
	t.Helper()
	alarms.Set(0)
	if b := nextBlocking(t, blocked); b.Active {
		t.Fatal("no connection.unblocked")
	}
	select {
	case c := <-confirms:
		if !c.Ack {
			t.Fatal("held publish nacked")
		}
	case err := <-closed:
		t.Fatalf("connection closed while its publish was held: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("held publish never confirmed")
	}
}

func nextBlocking(t *testing.T, blocked <-chan amqp091.Blocking) amqp091.Blocking {
	t.Helper()
	select {
	case b := <-blocked:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("no connection.blocked or connection.unblocked")
	}
	return amqp091.Blocking{}
}

// TestHeldPublishOutlivesHeartbeatTimeout: while a publish is held the
// server does not read, so the client's heartbeats pile up unread; that
// silence is the server's own and must not close the connection.
func TestHeldPublishOutlivesHeartbeatTimeout(t *testing.T) {
	alarms := alarm.NewFake()
	tb := startBroker(t, func(c *Config) { c.Alarms = alarms.Monitor; c.Heartbeat = time.Second })
	t.Cleanup(func() { alarms.Set(0) })
	conn, err := amqp091.DialConfig(tb.url(), amqp091.Config{Heartbeat: time.Second})
	must(t, err)
	defer conn.Close()
	closed := conn.NotifyClose(make(chan *amqp091.Error, 1))
	confirms, blocked, _ := heldPublish(t, alarms, alarm.Disk, conn)

	// Two heartbeat intervals and a half: a connection whose reads were
	// counted would have been closed by now.
	time.Sleep(2500 * time.Millisecond)
	releaseHeld(t, alarms, confirms, blocked, closed)
	if conn.IsClosed() {
		t.Fatal("connection closed after the alarm cleared")
	}
}

// TestShutdownEndsAHeldPublish: a connection holding a publish for an alarm
// must still drain at shutdown instead of waiting for the alarm to clear.
func TestShutdownEndsAHeldPublish(t *testing.T) {
	alarms := alarm.NewFake()
	tb := startBroker(t, func(c *Config) { c.Alarms = alarms.Monitor })
	t.Cleanup(func() { alarms.Set(0) }) // unsticks a regressed server before tb.stop
	conn := tb.dial()
	closed := conn.NotifyClose(make(chan *amqp091.Error, 1))
	heldPublish(t, alarms, alarm.Disk, conn)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shutdown := make(chan error, 1)
	go func() { shutdown <- tb.srv.Shutdown(ctx) }()
	select {
	case err := <-shutdown:
		if err != nil {
			t.Fatalf("Shutdown with a held publish: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown hung on a held publish")
	}
	if alarms.Raised() != alarm.Disk {
		t.Fatal("the alarm cleared during the test")
	}
	select {
	case err := <-closed:
		if err == nil || err.Code != 320 {
			t.Fatalf("connection closed with %v, want 320 CONNECTION_FORCED", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("client not told to leave")
	}
}
