package loadgen

import (
	"bytes"
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
// That goroutine must not wait for run: a backlog delivers as soon as the
// first queue's basic.consume-ok arrives, and the next queue's consume-ok
// comes after those deliveries on the same reader. So deliveries that come
// before run are kept, and run records them.
type leanConsumer struct {
	conn *amqpclient.Conn

	mu    sync.Mutex // deliver and run's hand-over
	rec   *Recorder  // mu; nil until run
	early []leanDelivery
	acks  ackPacer // mu
}

// leanDelivery is a delivery kept until run, its body copied out of the
// reader's buffer.
type leanDelivery struct {
	tag  uint64
	body []byte
}

func (w *amqpWorkload) newLeanConsumer(group, member int) (consumer, error) {
	c := &leanConsumer{acks: ackPacer{every: w.cfg.AckEvery}}
	conn, err := w.dialLean(amqpclient.Options{OnDeliver: c.deliver})
	if err != nil {
		return nil, err
	}
	c.conn = conn
	if err := conn.Qos(w.cfg.Prefetch); err != nil {
		conn.Close()
		return nil, err
	}
	// Subscribe before the run publishes (see newConsumer).
	for _, q := range queuesOf(member, w.cfg.Consumers, w.cfg.Queues) {
		name := w.queue(q, group)
		if _, err := conn.Consume(name); err != nil {
			conn.Close()
			return nil, fmt.Errorf("basic.consume %s: %w", name, err)
		}
	}
	return c, nil
}

// deliver records one delivery and acks as the amqp091-go consumer does,
// or keeps it until run.
func (c *leanConsumer) deliver(tag uint64, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec == nil {
		c.early = append(c.early, leanDelivery{tag, bytes.Clone(body)})
		return
	}
	c.recordLocked(tag, body)
}

func (c *leanConsumer) recordLocked(tag uint64, body []byte) {
	c.rec.Record(body)
	if tag := c.acks.delivered(tag); tag != 0 {
		// A failed ack ends the connection, which run reports.
		_ = c.conn.Ack(tag, true)
	}
}

func (c *leanConsumer) run(ctx context.Context, rec *Recorder) error {
	c.mu.Lock()
	c.rec = rec
	for _, d := range c.early {
		c.recordLocked(d.tag, d.body)
	}
	c.early = nil
	c.mu.Unlock()
	select {
	case <-ctx.Done():
	case <-c.conn.Done():
	}
	// Close returns once the reading goroutine has stopped, so rec is the
	// caller's again.
	err := c.conn.Close()
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		err = errors.New("the connection ended")
	}
	return fmt.Errorf("amqp consumer: %w", err)
}

func (c *leanConsumer) close() error { return c.conn.Close() }
