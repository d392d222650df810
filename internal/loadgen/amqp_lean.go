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

// leanProducer pairs each confirm with its message by delivery tag: the
// message published n-th on the channel has tag n.
type leanProducer struct {
	w    *amqpWorkload
	conn *amqpclient.Conn

	mu      sync.Mutex
	base    uint64        // the tag of pending[0]
	pending []func(error) // by tag; nil once settled
	ended   bool          // the connection ended and failed what was pending
	done    chan struct{} // closed once that has happened
}

func (w *amqpWorkload) newLeanProducer() (producer, error) {
	p := &leanProducer{w: w, base: 1, done: make(chan struct{})}
	conn, err := w.dialLean(amqpclient.Options{OnConfirm: p.confirm})
	if err != nil {
		return nil, err
	}
	if err := conn.ConfirmSelect(); err != nil {
		conn.Close()
		return nil, err
	}
	p.conn = conn
	go p.failWhenEnded()
	return p, nil
}

// confirm settles the messages a basic.ack or basic.nack names.
func (p *leanProducer) confirm(tag uint64, multiple, ack bool) {
	var err error
	if !ack {
		err = errors.New("broker nacked the publish")
	}
	p.mu.Lock()
	var settled []func(error)
	first := tag
	if multiple {
		first = p.base
	}
	for t := max(first, p.base); t <= tag && t-p.base < uint64(len(p.pending)); t++ {
		if done := p.pending[t-p.base]; done != nil {
			settled = append(settled, done)
			p.pending[t-p.base] = nil
		}
	}
	for len(p.pending) > 0 && p.pending[0] == nil {
		p.pending = p.pending[1:]
		p.base++
	}
	p.mu.Unlock()
	for _, done := range settled {
		done(err)
	}
}

// failWhenEnded fails every unconfirmed message once the connection ends.
func (p *leanProducer) failWhenEnded() {
	defer close(p.done)
	<-p.conn.Done()
	p.mu.Lock()
	left := p.pending
	p.pending, p.ended = nil, true
	p.mu.Unlock()
	for _, done := range left {
		if done != nil {
			done(errors.New("connection closed before the publish was confirmed"))
		}
	}
}

func (p *leanProducer) send(ctx context.Context, queue int, payload []byte, done func(error)) error {
	exchange, key := p.w.route(queue)
	// done is queued before the publish so that its confirmation, which may
	// come at once, finds it.
	p.mu.Lock()
	p.pending = append(p.pending, done)
	p.mu.Unlock()
	err := p.conn.Publish(amqpclient.Message{Exchange: exchange, RoutingKey: key,
		ContentType: "application/octet-stream", Persistent: true, Body: payload})
	if err == nil {
		return nil
	}
	// The run settles a message whose send failed itself, so done must not
	// be called as well: take it back, unless failWhenEnded already has.
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return nil
	}
	p.pending = p.pending[:len(p.pending)-1]
	return err
}

func (p *leanProducer) flush(context.Context) error { return nil }

func (p *leanProducer) close() error {
	err := p.conn.Close()
	<-p.done
	return err
}

// leanConsumer records deliveries on the connection's reading goroutine.
// Deliveries that arrive before run has given it a Recorder wait there.
type leanConsumer struct {
	w    *amqpWorkload
	conn *amqpclient.Conn

	started   chan struct{} // closed by run once rec is set
	closing   chan struct{} // closed by close
	closeOnce sync.Once
	rec       *Recorder

	// Touched only by the reading goroutine.
	recording bool
	unacked   int
	highest   uint64
	acked     uint64
}

func (w *amqpWorkload) newLeanConsumer(group, member int) (consumer, error) {
	c := &leanConsumer{w: w, started: make(chan struct{}), closing: make(chan struct{})}
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
	c.highest = max(c.highest, tag)
	if c.unacked++; c.unacked < c.w.cfg.AckEvery || c.highest == c.acked {
		return
	}
	c.unacked, c.acked = 0, c.highest
	// A failed ack ends the connection, which run reports.
	_ = c.conn.Ack(c.highest, true)
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
