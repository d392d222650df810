package loadgen

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Redis Streams workload: producers pipeline XADD (the in-flight window
// is the pipeline depth), consumers read with XREADGROUP and settle each
// batch with one XACK per stream. Every queue is a stream, every group a
// consumer group created on every stream.
type redisWorkload struct {
	cfg     Config
	streams []string
	admin   *redis.Client
}

// redisPayloadField is the one field of every entry.
const redisPayloadField = "d"

// redisBlock bounds each XREADGROUP so a consumer notices the end of the run;
// the wait happens in the server, not in a client loop.
const redisBlock = 200 * time.Millisecond

func newRedisWorkload(cfg Config) *redisWorkload {
	return &redisWorkload{cfg: cfg, streams: cfg.queueNames()}
}

func (w *redisWorkload) client(poolSize int) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: w.cfg.Addr, Protocol: 2, DisableIdentity: true, PoolSize: poolSize,
		// Retries would hide a broker that drops connections; the run
		// reports failures instead.
		MaxRetries: -1,
	})
}

func (w *redisWorkload) setup(ctx context.Context) error {
	w.admin = w.client(2)
	if err := w.admin.Ping(ctx).Err(); err != nil {
		return err
	}
	for q := 0; q < w.cfg.Queues; q++ {
		for g := 0; g < w.cfg.Groups; g++ {
			err := w.admin.XGroupCreateMkStream(ctx, w.cfg.queueName(q), w.cfg.groupName(g), "0").Err()
			if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
				return fmt.Errorf("XGROUP CREATE %s %s: %w", w.cfg.queueName(q), w.cfg.groupName(g), err)
			}
		}
	}
	return nil
}

func (w *redisWorkload) probe(ctx context.Context) error {
	c := w.client(1)
	defer c.Close()
	return c.Ping(ctx).Err()
}

func (w *redisWorkload) close() error {
	if w.admin != nil {
		return w.admin.Close()
	}
	return nil
}

type redisProducer struct {
	cfg     Config
	streams []string
	client  *redis.Client
	pipe    redis.Pipeliner
	pending []func(error)
}

func (w *redisWorkload) newProducer(ctx context.Context, id int) (producer, error) {
	c := w.client(1)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, err
	}
	return &redisProducer{cfg: w.cfg, streams: w.streams, client: c, pipe: c.Pipeline()}, nil
}

func (p *redisProducer) send(ctx context.Context, queue int, payload []byte, done func(error)) error {
	p.pipe.XAdd(ctx, &redis.XAddArgs{Stream: p.streams[queue], Values: []any{redisPayloadField, payload}})
	p.pending = append(p.pending, done)
	if len(p.pending) >= p.cfg.InFlight {
		return p.flush(ctx)
	}
	return nil
}

// flush executes the pipeline: one write of every XADD, one read of every
// reply, and each reply settles its message.
func (p *redisProducer) flush(ctx context.Context) error {
	if len(p.pending) == 0 {
		return nil
	}
	cmds, err := p.pipe.Exec(ctx)
	for i, done := range p.pending {
		switch {
		case i < len(cmds):
			done(cmds[i].Err())
		case err != nil:
			done(err)
		default:
			done(errors.New("redis pipeline returned fewer replies than commands"))
		}
	}
	p.pending = p.pending[:0]
	return nil
}

func (p *redisProducer) close() error { return p.client.Close() }

type redisConsumer struct {
	cfg    Config
	client *redis.Client
	group  string
	name   string
	keys   []string
}

func (w *redisWorkload) newConsumer(ctx context.Context, group, member int) (consumer, error) {
	c := w.client(1)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, err
	}
	var keys []string
	for _, q := range queuesOf(member, w.cfg.Consumers, w.cfg.Queues) {
		keys = append(keys, w.cfg.queueName(q))
	}
	return &redisConsumer{
		cfg: w.cfg, client: c, group: w.cfg.groupName(group),
		name: fmt.Sprintf("%s-c%d", w.cfg.groupName(group), member), keys: keys,
	}, nil
}

func (c *redisConsumer) run(ctx context.Context, rec *Recorder) error {
	streams := make([]string, 0, 2*len(c.keys))
	streams = append(streams, c.keys...)
	for range c.keys {
		streams = append(streams, ">")
	}
	args := &redis.XReadGroupArgs{Group: c.group, Consumer: c.name, Streams: streams, Count: int64(c.cfg.Prefetch), Block: redisBlock}
	for ctx.Err() == nil {
		got, err := c.client.XReadGroup(ctx, args).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return fmt.Errorf("XREADGROUP: %w", err)
		}
		pipe := c.client.Pipeline()
		for _, stream := range got {
			ids := make([]string, 0, len(stream.Messages))
			for _, m := range stream.Messages {
				// An entry without the field is recorded as malformed.
				body, _ := m.Values[redisPayloadField].(string)
				rec.RecordString(body)
				ids = append(ids, m.ID)
			}
			if len(ids) > 0 {
				pipe.XAck(ctx, stream.Stream, c.group, ids...)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil && ctx.Err() == nil {
			return fmt.Errorf("XACK: %w", err)
		}
	}
	return nil
}

func (c *redisConsumer) close() error { return c.client.Close() }
