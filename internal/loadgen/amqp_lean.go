package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gannet-mq/gannet/internal/loadgen/amqpclient"
)

// The AMQP workload's producers and consumers on amqpclient, the load
// generator's own lean client (Config.AMQPClient "lean"). They do what the
// amqp091-go ones in amqp.go do, message for message: persistent publishes
// with confirms, basic.qos prefetch, manual acks every Config.AckEvery
// deliveries with multiple=true.

// dialLean opens a lean connection, coalescing its writes as dial does.
func (w *amqpWorkload) dialLean(opt amqpclient.Options) (*amqpclient.Conn, error) {
	if w.cfg.CoalesceWrites {
		nc, err := net.DialTimeout("tcp", w.cfg.Addr, 30*time.Second)
		if err != nil {
			return nil, err
		}
		opt.Conn = newCoalescingConn(nc)
	}
	return amqpclient.Dial(w.cfg.Addr, opt)
}

// newLeanProducer publishes on one confirm-mode channel of amqpclient,
// whose reader settles the ledger.
func (w *amqpWorkload) newLeanProducer() (producer, error) {
	p := newConfirmProducer(w)
	conn, err := w.dialLean(amqpclient.Options{OnConfirm: p.ledger.confirm})
	if err != nil {
		return nil, err
	}
	if err := conn.ConfirmSelect(); err != nil {
		conn.Close()
		return nil, err
	}
	p.conn = conn
	p.publish = func(_ context.Context, exchange, key string, body []byte) error {
		return conn.Publish(amqpclient.Message{Exchange: exchange, RoutingKey: key,
			ContentType: "application/octet-stream", Persistent: true, Body: body})
	}
	go func() {
		defer close(p.done)
		<-conn.Done()
		p.ledger.end()
	}()
	return p, nil
}

// leanConsumer records deliveries on the connection's reading goroutine.
// Deliveries that arrive before run has given it a Recorder wait there.
type leanConsumer struct {
	conn *amqpclient.Conn

	started   chan struct{} // closed by run once rec is set
	closing   chan struct{} // closed by close
	closeOnce sync.Once
	rec       *Recorder

	// Touched only by the reading goroutine.
	recording bool
	acks      ackPacer
}

func (w *amqpWorkload) newLeanConsumer(group, member int) (consumer, error) {
	c := &leanConsumer{started: make(chan struct{}), closing: make(chan struct{}),
		acks: ackPacer{every: w.cfg.AckEvery}}
	conn, err := w.dialLean(amqpclient.Options{OnDeliver: c.deliver})
	if err != nil {
		return nil, err
	}
	c.conn = conn
	if err := conn.Qos(w.cfg.Prefetch); err != nil {
		c.close()
		return nil, err
	}
	// Subscribe before the run publishes (see newConsumer).
	for _, q := range queuesOf(member, w.cfg.Consumers, w.cfg.Queues) {
		name := w.queue(q, group)
		if _, err := conn.Consume(name); err != nil {
			c.close()
			return nil, fmt.Errorf("basic.consume %s: %w", name, err)
		}
	}
	return c, nil
}

// deliver records one delivery and acks as the amqp091-go consumer does.
func (c *leanConsumer) deliver(tag uint64, body []byte) {
	if !c.recording {
		select {
		case <-c.started:
			c.recording = true
		case <-c.closing:
			return
		}
	}
	c.rec.Record(body)
	if tag := c.acks.delivered(tag); tag != 0 {
		// A failed ack ends the connection, which run reports.
		_ = c.conn.Ack(tag, true)
	}
}

func (c *leanConsumer) run(ctx context.Context, rec *Recorder) error {
	c.rec = rec
	close(c.started)
	select {
	case <-ctx.Done():
	case <-c.conn.Done():
	}
	// Close returns once the reading goroutine has stopped, so rec is the
	// caller's again.
	err := c.close()
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		err = errors.New("the connection ended")
	}
	return fmt.Errorf("amqp consumer: %w", err)
}

func (c *leanConsumer) close() error {
	c.closeOnce.Do(func() { close(c.closing) })
	return c.conn.Close()
}
