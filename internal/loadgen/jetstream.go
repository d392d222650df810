package loadgen

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The NATS JetStream workload, the log peer: every queue is a file-backed
// stream on a subject of the same name; producers publish asynchronously
// with the in-flight window; every group is a durable pull consumer with
// explicit acks, read with a prefetch of --prefetch messages.
type natsWorkload struct {
	cfg      Config
	subjects []string
}

func newNATSWorkload(cfg Config) *natsWorkload {
	return &natsWorkload{cfg: cfg, subjects: cfg.queueNames()}
}

func (w *natsWorkload) connect() (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect("nats://"+w.cfg.Addr, nats.MaxReconnects(0))
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(w.cfg.InFlight+1))
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

func (w *natsWorkload) setup(ctx context.Context) error {
	nc, js, err := w.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	for q := 0; q < w.cfg.Queues; q++ {
		name := w.cfg.queueName(q)
		if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name: name, Subjects: []string{name}, Storage: jetstream.FileStorage,
		}); err != nil {
			return fmt.Errorf("creating stream %s: %w", name, err)
		}
		for g := 0; g < w.cfg.Groups; g++ {
			if _, err := js.CreateOrUpdateConsumer(ctx, name, jetstream.ConsumerConfig{
				Durable: w.cfg.groupName(g), AckPolicy: jetstream.AckExplicitPolicy,
				DeliverPolicy: jetstream.DeliverAllPolicy,
				MaxAckPending: max(1000, w.cfg.Prefetch*w.cfg.Consumers),
			}); err != nil {
				return fmt.Errorf("creating consumer %s on %s: %w", w.cfg.groupName(g), name, err)
			}
		}
	}
	return nil
}

func (w *natsWorkload) probe(ctx context.Context) error {
	nc, js, err := w.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	_, err = js.AccountInfo(ctx)
	return err
}

func (w *natsWorkload) close() error { return nil }

type natsPending struct {
	future jetstream.PubAckFuture
	done   func(error)
}

// natsProducer pairs each publish's future with its callback on one
// goroutine; acks come back in publish order, so waiting on them in order
// costs nothing.
type natsProducer struct {
	subjects []string
	nc       *nats.Conn
	js       jetstream.JetStream
	pending  chan natsPending
	stop     chan struct{}
	settled  chan struct{}
}

func (w *natsWorkload) newProducer(ctx context.Context, id int) (producer, error) {
	nc, js, err := w.connect()
	if err != nil {
		return nil, err
	}
	p := &natsProducer{
		subjects: w.subjects, nc: nc, js: js, pending: make(chan natsPending, w.cfg.InFlight),
		stop: make(chan struct{}), settled: make(chan struct{}),
	}
	go p.settle()
	return p, nil
}

func (p *natsProducer) settle() {
	defer close(p.settled)
	for {
		var next natsPending
		select {
		case next = <-p.pending:
		case <-p.stop:
			return
		}
		select {
		case <-next.future.Ok():
			next.done(nil)
		case err := <-next.future.Err():
			next.done(err)
		case <-p.stop:
			next.done(errors.New("producer closed before the publish was acknowledged"))
			return
		}
	}
}

func (p *natsProducer) send(ctx context.Context, queue int, payload []byte, done func(error)) error {
	f, err := p.js.PublishAsync(p.subjects[queue], payload)
	if err != nil {
		return err
	}
	p.pending <- natsPending{future: f, done: done}
	return nil
}

func (p *natsProducer) flush(context.Context) error { return p.nc.Flush() }

func (p *natsProducer) close() error {
	close(p.stop)
	<-p.settled
	p.nc.Close()
	return nil
}

type natsConsumer struct {
	cfg   Config
	nc    *nats.Conn
	feeds []jetstream.MessagesContext
}

func (w *natsWorkload) newConsumer(ctx context.Context, group, member int) (consumer, error) {
	nc, js, err := w.connect()
	if err != nil {
		return nil, err
	}
	c := &natsConsumer{cfg: w.cfg, nc: nc}
	for _, q := range queuesOf(member, w.cfg.Consumers, w.cfg.Queues) {
		cons, err := js.Consumer(ctx, w.cfg.queueName(q), w.cfg.groupName(group))
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("opening consumer %s on %s: %w", w.cfg.groupName(group), w.cfg.queueName(q), err)
		}
		// Pull before the run publishes, as the other workloads subscribe
		// first: the first pull's wait is not charged to the messages.
		it, err := cons.Messages(jetstream.PullMaxMessages(w.cfg.Prefetch))
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("pulling %s on %s: %w", w.cfg.groupName(group), w.cfg.queueName(q), err)
		}
		c.feeds = append(c.feeds, it)
	}
	return c, nil
}

// run pulls from each of its streams and acks every message once recorded.
func (c *natsConsumer) run(ctx context.Context, rec *Recorder) error {
	sources := make([]source[jetstream.Msg], 0, len(c.feeds))
	for _, it := range c.feeds {
		sources = append(sources, func(ctx context.Context, emit func(jetstream.Msg) bool) error {
			// Next blocks in the client; stopping the iterator wakes it.
			defer context.AfterFunc(ctx, it.Stop)()
			defer it.Stop()
			for {
				m, err := it.Next()
				if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					return nil
				}
				if err != nil {
					return err
				}
				if !emit(m) {
					return nil
				}
			}
		})
	}
	return consumeSources(ctx, c.cfg.Prefetch, sources, func(m jetstream.Msg) error {
		rec.Record(m.Data())
		if err := m.Ack(); err != nil && ctx.Err() == nil {
			return fmt.Errorf("ack: %w", err)
		}
		return nil
	})
}

func (c *natsConsumer) close() error {
	c.nc.Close()
	return nil
}
