package amqpclient

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gannet-mq/gannet/internal/server/servertest"
)

// declare makes a durable queue with amqp091-go, so the tests check this
// client against a reference client as well as the broker.
func declare(t *testing.T, addr, queue string) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial("amqp://guest:guest@" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	return ch
}

// confirmLog collects the confirms a connection receives.
type confirmLog struct {
	mu      sync.Mutex
	highest uint64 // every tag up to it is confirmed
	nacked  int
	all     chan struct{}
	want    uint64
}

func (l *confirmLog) confirm(tag uint64, multiple, ack bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !ack {
		l.nacked++
	}
	if multiple || tag == l.highest+1 {
		l.highest = max(l.highest, tag)
	}
	if l.highest == l.want {
		close(l.all)
	}
}

func TestPublishConfirmAndConsume(t *testing.T) {
	addr := servertest.Start(t).AMQP
	declare(t, addr, "lean")
	const n = 500
	bodies := make([][]byte, n)
	for i := range bodies {
		// Some bodies span several frames (frame-max is 128 KiB), one is empty.
		size := []int{1024, 0, 300 << 10, 17}[i%4]
		bodies[i] = bytes.Repeat([]byte{byte(i)}, size)
		copy(bodies[i], fmt.Sprintf("%06d", i))
	}

	log := &confirmLog{all: make(chan struct{}), want: n}
	pub, err := Dial(addr, Options{OnConfirm: log.confirm})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.ConfirmSelect(); err != nil {
		t.Fatal(err)
	}
	for _, b := range bodies {
		if err := pub.Publish(Message{RoutingKey: "lean", ContentType: "application/octet-stream", Persistent: true, Body: b}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-log.all:
	case <-time.After(10 * time.Second):
		t.Fatalf("confirmed up to %d of %d publishes", log.highest, n)
	}
	if log.nacked != 0 {
		t.Fatalf("%d publishes nacked", log.nacked)
	}

	got := make(chan []byte, n)
	var lastTag uint64
	var sub *Conn
	sub, err = Dial(addr, Options{OnDeliver: func(tag uint64, body []byte) {
		lastTag = tag
		got <- bytes.Clone(body)
		if err := sub.Ack(tag, false); err != nil {
			t.Error(err)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := sub.Qos(50); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Consume("lean"); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		select {
		case b := <-got:
			if !bytes.Equal(b, bodies[i]) {
				t.Fatalf("delivery %d: %d bytes starting %q, want %d starting %q", i, len(b), b[:min(6, len(b))], len(bodies[i]), bodies[i][:min(6, len(bodies[i]))])
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("received %d of %d deliveries", i, n)
		}
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if lastTag != n {
		t.Errorf("last delivery tag %d, want %d", lastTag, n)
	}
}

// TestMessagesReadByAReferenceClient checks the encoding against amqp091-go:
// the properties this client sets arrive as that client reads them.
func TestMessagesReadByAReferenceClient(t *testing.T) {
	addr := servertest.Start(t).AMQP
	ch := declare(t, addr, "ref")
	c, err := Dial(addr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Publish(Message{RoutingKey: "ref", ContentType: "text/plain", Persistent: true, Body: []byte("hello")}); err != nil {
		t.Fatal(err)
	}
	var d amqp.Delivery
	deadline := time.Now().Add(10 * time.Second)
	for ok := false; !ok; {
		if d, ok, err = ch.Get("ref", true); err != nil || time.Now().After(deadline) {
			t.Fatalf("basic.get: ok %v, err %v", ok, err)
		}
	}
	if string(d.Body) != "hello" || d.ContentType != "text/plain" || d.DeliveryMode != amqp.Persistent {
		t.Fatalf("got body %q, content type %q, delivery mode %d", d.Body, d.ContentType, d.DeliveryMode)
	}
}

// TestChannelCloseEndsTheConnection checks that a broker's channel.close
// (here 404 for a publish to an exchange that does not exist) ends the
// connection with the reply code, and that calls fail from then on.
func TestChannelCloseEndsTheConnection(t *testing.T) {
	addr := servertest.Start(t).AMQP
	c, err := Dial(addr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(Message{Exchange: "missing", Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the connection did not end")
	}
	if err := c.Err(); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("Err = %v, want the channel's 404", err)
	}
	if err := c.Ack(1, false); err == nil {
		t.Fatal("Ack on an ended connection succeeded")
	}
	if err := c.Close(); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("Close = %v, want the channel's 404", err)
	}
}

func TestDialRefusesWrongCredentials(t *testing.T) {
	addr := servertest.Start(t).AMQP
	if c, err := Dial(addr, Options{User: "guest", Password: "wrong"}); err == nil {
		c.Close()
		t.Fatal("Dial with a wrong password succeeded")
	}
}

// discardConn takes every write and does nothing else.
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error) { return len(b), nil }

// A publish and an ack reuse the connection's buffers and method values:
// on the load generator's hot path they allocate nothing.
func TestPublishAndAckDoNotAllocate(t *testing.T) {
	c := &Conn{nc: discardConn{}, frameMax: 128 << 10, done: make(chan struct{})}
	body := make([]byte, 1024)
	m := Message{RoutingKey: "q", ContentType: "application/octet-stream", Persistent: true, Body: body}
	_ = c.Publish(m) // grows the scratch buffer once
	if n := testing.AllocsPerRun(100, func() {
		if err := c.Publish(m); err != nil {
			t.Fatal(err)
		}
		if err := c.Ack(7, true); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("a publish and an ack allocate %.1f times", n)
	}
}
