package loadgen

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The Kafka workload: every queue is a topic with --partitions partitions;
// producers produce asynchronously with the chosen acks and the in-flight
// window; every group is a consumer group whose members subscribe to every
// topic from the earliest offset and commit with franz-go's autocommit.
type kafkaWorkload struct {
	cfg    Config
	topics []string
	ready  []*groupReadiness // by group
}

func newKafkaWorkload(cfg Config) *kafkaWorkload {
	w := &kafkaWorkload{cfg: cfg, topics: cfg.queueNames()}
	for range cfg.Groups {
		w.ready = append(w.ready, newGroupReadiness(cfg.Consumers, len(w.topics)*cfg.Partitions))
	}
	return w
}

func (w *kafkaWorkload) setup(ctx context.Context) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(w.cfg.Addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, int32(w.cfg.Partitions), 1, nil, w.topics...)
	if err != nil {
		return err
	}
	for _, r := range resp {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("creating topic %s: %w", r.Topic, r.Err)
		}
	}
	return nil
}

func (w *kafkaWorkload) probe(ctx context.Context) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(w.cfg.Addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.Ping(ctx)
}

func (w *kafkaWorkload) close() error { return nil }

type kafkaProducer struct {
	topics []string
	cl     *kgo.Client
}

func (w *kafkaWorkload) newProducer(ctx context.Context, id int) (producer, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(w.cfg.Addr),
		// The run keeps the window; the client's buffer only needs room for it.
		kgo.MaxBufferedRecords(w.cfg.InFlight + 1),
		kgo.ProducerLinger(0),
		// franz-go compresses with snappy by default. The payload is random
		// and does not compress, so compressing would only burn client and
		// broker CPU; Kafka's own kafka-producer-perf-test sends
		// uncompressed batches by default too.
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	}
	switch w.cfg.Acks {
	case "all":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "leader":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "none":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, err
	}
	return &kafkaProducer{topics: w.topics, cl: cl}, nil
}

func (p *kafkaProducer) send(ctx context.Context, queue int, payload []byte, done func(error)) error {
	p.cl.Produce(ctx, &kgo.Record{Topic: p.topics[queue], Value: payload}, func(_ *kgo.Record, err error) {
		done(err)
	})
	return nil
}

func (p *kafkaProducer) flush(context.Context) error { return nil }

func (p *kafkaProducer) close() error {
	p.cl.Close()
	return nil
}

type kafkaConsumer struct {
	cl    *kgo.Client
	group *groupReadiness
}

func (w *kafkaWorkload) newConsumer(ctx context.Context, group, member int) (consumer, error) {
	ready := w.ready[group]
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(w.cfg.Addr),
		kgo.WithHooks(fetchHook(func() { ready.fetched(member) })),
		kgo.ConsumerGroup(w.cfg.groupName(group)),
		kgo.ConsumeTopics(w.topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxPartitionBytes(int32(max(w.cfg.Prefetch*w.cfg.Size, 1<<20))),
		kgo.OnPartitionsAssigned(func(_ context.Context, cl *kgo.Client, gained map[string][]int32) {
			_, generation := cl.GroupMetadata()
			ready.assigned(member, generation, countPartitions(gained))
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
			ready.revoked(member, countPartitions(lost))
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
			ready.revoked(member, countPartitions(lost))
		}),
	)
	if err != nil {
		return nil, err
	}
	return &kafkaConsumer{cl: cl, group: ready}, nil
}

func countPartitions(byTopic map[string][]int32) int {
	n := 0
	for _, ps := range byTopic {
		n += len(ps)
	}
	return n
}

// fetchHook is called each time the client writes a Fetch request.
type fetchHook func()

func (f fetchHook) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key == int16(kmsg.Fetch) && err == nil {
		f()
	}
}

// waitReady blocks until the member's whole group is ready (groupReadiness).
func (c *kafkaConsumer) waitReady(ctx context.Context) error { return c.group.wait(ctx) }

func (c *kafkaConsumer) run(ctx context.Context, rec *Recorder) error {
	for {
		fetches := c.cl.PollFetches(ctx)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			return nil
		}
		var fetchErr error
		fetches.EachError(func(topic string, partition int32, err error) {
			fetchErr = errors.Join(fetchErr, fmt.Errorf("fetching %s/%d: %w", topic, partition, err))
		})
		if fetchErr != nil {
			return fetchErr
		}
		fetches.EachRecord(func(r *kgo.Record) { rec.Record(r.Value) })
	}
}

func (c *kafkaConsumer) close() error {
	c.cl.Close()
	return nil
}
