package amqp

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/crashtest"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(profileServeEnv); addr != "" {
		profileServe(addr)
		return
	}
	if crashtest.Child(runCrashChild) {
		return
	}
	os.Exit(m.Run())
}

// runCrashChild is the crash test's child: the core, this front-end and an
// amqp091-go publisher in confirm mode that publishes persistent messages
// through a durable exchange and prints "ACK <body>" for each one the
// broker confirmed.
func runCrashChild(dir string, round int) {
	b, err := broker.Open(broker.Options{DataDir: dir})
	if err != nil {
		crashtest.Fail("open", err)
	}
	srv, err := New(Config{Broker: b})
	if err != nil {
		crashtest.Fail("new", err)
	}
	l := crashtest.Listen()
	go srv.Serve(l)
	conn, err := amqp091.Dial("amqp://guest:guest@" + l.Addr().String() + "/")
	if err != nil {
		crashtest.Fail("dial", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		crashtest.Fail("channel", err)
	}
	if err := ch.ExchangeDeclare("crash-x", "direct", true, false, false, false, nil); err != nil {
		crashtest.Fail("exchange", err)
	}
	if _, err := ch.QueueDeclare("crash-q", true, false, false, false, nil); err != nil {
		crashtest.Fail("queue", err)
	}
	if err := ch.QueueBind("crash-q", "k", "crash-x", false, nil); err != nil {
		crashtest.Fail("bind", err)
	}
	if err := ch.Confirm(false); err != nil {
		crashtest.Fail("confirm", err)
	}
	confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, 512))
	bodies := make(map[uint64]string)
	var seq uint64
	for i := 0; ; i++ {
		body := fmt.Sprintf("r%d-%d", round, i)
		seq++
		bodies[seq] = body
		err := ch.PublishWithContext(context.Background(), "crash-x", "k", false, false,
			amqp091.Publishing{DeliveryMode: amqp091.Persistent, Body: []byte(body)})
		if err != nil {
			crashtest.Fail("publish", err)
		}
		for len(bodies) >= 128 {
			c := <-confirms
			if c.Ack {
				crashtest.Ack("%s", bodies[c.DeliveryTag])
			}
			delete(bodies, c.DeliveryTag)
		}
	}
}

func TestSIGKILLLosesNothingConfirmed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills child processes")
	}
	dir := t.TempDir()
	acks := crashtest.Run(t, crashtest.Options{
		Rounds: 6, MinAcks: 200, Seed: 3, MaxDelay: 200 * time.Millisecond,
		Command: crashtest.Rerun(dir),
	})
	if len(acks) < 6*200 {
		t.Fatalf("only %d confirms collected", len(acks))
	}
	tb := startBrokerIn(t, dir)
	_, ch := tb.channel()
	q, err := ch.QueueDeclarePassive("crash-q", true, false, false, false, nil)
	must(t, err)
	must(t, ch.Qos(500, 0, false))
	ds, err := ch.Consume("crash-q", "", false, false, false, false, nil)
	must(t, err)
	seen := make(map[string]bool, q.Messages)
	for i := 0; i < q.Messages; i++ {
		d := next(t, ds)
		seen[string(d.Body)] = true
		must(t, d.Ack(false))
	}
	for _, a := range acks {
		if !seen[a] {
			t.Fatalf("confirmed message %q lost (%d confirmed, %d in the queue)", a, len(acks), q.Messages)
		}
	}
	// The durable exchange and binding survived too.
	must(t, ch.PublishWithContext(context.Background(), "crash-x", "k", false, false, amqp091.Publishing{Body: []byte("after")}))
	if d := next(t, ds); string(d.Body) != "after" {
		t.Fatalf("binding lost: got %q", d.Body)
	}
	t.Logf("%d confirmed messages, all found among %d", len(acks), q.Messages)
}
