package loadgen

import (
	"context"
	"fmt"
	"net"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// The AMQP 0-9-1 workload: durable queues, persistent messages, publisher
// confirms with the in-flight window, consumers with basic.qos prefetch and
// manual acks: by default one basic.ack per delivery (as many as RabbitMQ
// PerfTest's default sends), or one per Config.AckEvery deliveries. Every
// ack has multiple=true and names the highest tag seen (see run).
// Producers and consumers use amqpclient (amqp_lean.go) unless
// Config.AMQPClient asks for amqp091-go (this file); setup uses amqp091-go.
//
// With one group, producers publish through the default exchange to queue
// q. With G groups (fan-out), queue q is a fanout exchange bound to G
// durable queues, one per group.
type amqpWorkload struct {
	cfg   Config
	url   string
	names []string // queue (or, with groups, exchange) names by queue number
}

// dial opens a connection whose writes are coalesced (see coalescingConn).
func (w *amqpWorkload) dial() (*amqp.Connection, error) {
	if !w.cfg.CoalesceWrites {
		return amqp.Dial(w.url)
	}
	plain := amqp.DefaultDial(30 * time.Second)
	return amqp.DialConfig(w.url, amqp.Config{Locale: "en_US", Dial: func(network, addr string) (net.Conn, error) {
		c, err := plain(network, addr)
		if err != nil {
			return nil, err
		}
		return newCoalescingConn(c), nil
	}})
}

func newAMQPWorkload(cfg Config) *amqpWorkload {
	return &amqpWorkload{cfg: cfg, url: "amqp://guest:guest@" + cfg.Addr + "/", names: cfg.queueNames()}
}

// route is where a message for queue q is published.
func (w *amqpWorkload) route(q int) (exchange, key string) {
	if w.cfg.Groups == 1 {
		return "", w.names[q]
	}
	return w.names[q], ""
}

// queue is the AMQP queue that group g reads for queue q.
func (w *amqpWorkload) queue(q, g int) string {
	if w.cfg.Groups == 1 {
		return w.cfg.queueName(q)
	}
	return w.cfg.queueName(q) + "-" + w.cfg.groupName(g)
}

func (w *amqpWorkload) setup(ctx context.Context) error {
	conn, err := w.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	for q := 0; q < w.cfg.Queues; q++ {
		if w.cfg.Groups > 1 {
			if err := ch.ExchangeDeclare(w.cfg.queueName(q), "fanout", true, false, false, false, nil); err != nil {
				return fmt.Errorf("exchange.declare %s: %w", w.cfg.queueName(q), err)
			}
		}
		for g := 0; g < w.cfg.Groups; g++ {
			name := w.queue(q, g)
			if _, err := ch.QueueDeclare(name, true, false, false, false, nil); err != nil {
				return fmt.Errorf("queue.declare %s: %w", name, err)
			}
			if w.cfg.Groups > 1 {
				if err := ch.QueueBind(name, "", w.cfg.queueName(q), false, nil); err != nil {
					return fmt.Errorf("queue.bind %s: %w", name, err)
				}
			}
		}
	}
	return ctx.Err()
}

func (w *amqpWorkload) probe(ctx context.Context) error {
	conn, err := w.dial()
	if err != nil {
		return err
	}
	return conn.Close()
}

func (w *amqpWorkload) close() error { return nil }

// newProducer publishes on one confirm-mode channel; amqp091 hands over
// each confirmation by its tag.
func (w *amqpWorkload) newProducer(ctx context.Context, id int) (producer, error) {
	if w.cfg.AMQPClient == "lean" {
		return w.newLeanProducer()
	}
	conn, err := w.dial()
	if err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err == nil {
		err = ch.Confirm(false)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	p := newConfirmProducer(w)
	p.conn = conn
	p.publish = func(ctx context.Context, exchange, key string, body []byte) error {
		return ch.PublishWithContext(ctx, exchange, key, false, false, amqp.Publishing{
			DeliveryMode: amqp.Persistent, ContentType: "application/octet-stream", Body: body,
		})
	}
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, w.cfg.InFlight+1))
	go func() {
		defer close(p.done)
		for c := range confirms {
			p.ledger.confirm(c.DeliveryTag, false, c.Ack)
		}
		p.ledger.end()
	}()
	return p, nil
}

type amqpConsumer struct {
	w     *amqpWorkload
	conn  *amqp.Connection
	ch    *amqp.Channel
	feeds []amqpFeed
}

// amqpFeed is one queue's subscription.
type amqpFeed struct {
	queue      string
	deliveries <-chan amqp.Delivery
}

func (w *amqpWorkload) newConsumer(ctx context.Context, group, member int) (consumer, error) {
	if w.cfg.AMQPClient == "lean" {
		return w.newLeanConsumer(group, member)
	}
	conn, err := w.dial()
	if err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err == nil {
		err = ch.Qos(w.cfg.Prefetch, 0, false)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	// Subscribe before the run publishes, as the Kafka consumer joins its
	// group first: with many queues, messages that wait for their queue's
	// basic.consume-ok would charge the subscription to their latency.
	c := &amqpConsumer{w: w, conn: conn, ch: ch}
	for _, q := range queuesOf(member, w.cfg.Consumers, w.cfg.Queues) {
		name := w.queue(q, group)
		deliveries, err := ch.ConsumeWithContext(ctx, name, "", false, false, false, false, nil)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("basic.consume %s: %w", name, err)
		}
		c.feeds = append(c.feeds, amqpFeed{name, deliveries})
	}
	return c, nil
}

func (c *amqpConsumer) run(ctx context.Context, rec *Recorder) error {
	sources := make([]source[amqp.Delivery], 0, len(c.feeds))
	for _, f := range c.feeds {
		sources = append(sources, func(ctx context.Context, emit func(amqp.Delivery) bool) error {
			for {
				select {
				case d, ok := <-f.deliveries:
					if !ok {
						if ctx.Err() != nil {
							return nil
						}
						return fmt.Errorf("basic.consume %s: the deliveries stopped before the run ended", f.queue)
					}
					if !emit(d) {
						return nil
					}
				case <-ctx.Done():
					return nil
				}
			}
		})
	}
	acks := ackPacer{every: c.w.cfg.AckEvery}
	return consumeSources(ctx, c.w.cfg.Prefetch, sources, func(d amqp.Delivery) error {
		rec.Record(d.Body)
		if tag := acks.delivered(d.DeliveryTag); tag != 0 {
			if err := c.ch.Ack(tag, true); err != nil {
				return fmt.Errorf("basic.ack: %w", err)
			}
		}
		return nil
	})
}

func (c *amqpConsumer) close() error { return c.conn.Close() }
