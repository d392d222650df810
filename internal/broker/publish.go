package broker

import (
	"context"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
	"github.com/gannet-mq/gannet/internal/broker/routing"
	"github.com/gannet-mq/gannet/internal/storage"
)

// PublishOptions carries per-message settings that the core enforces.
type PublishOptions struct {
	TTL   time.Duration // expire the message this long after publishing (AMQP expiration)
	Delay time.Duration // deliver no earlier than this (SQS DelaySeconds)
}

// Receipt tells where a publish went; Wait blocks until it is on disk.
type Receipt struct {
	Routed    int  // streams the message was appended to
	Duplicate bool // dropped by a dedup window; counts as delivered
	Base      int64
	Partition int32
	appended  []storage.Appended
}

// Wait returns once every append of the publish is durable (at once when
// fsync is not "always"). An error means the publish must not be confirmed.
func (r Receipt) Wait(ctx context.Context) error {
	for _, a := range r.appended {
		if err := a.Wait(ctx); err != nil {
			return mapStorageErr(err)
		}
	}
	return nil
}

// Publish routes a message through an exchange ("" is the default exchange,
// which delivers to the stream named by routingKey) and appends it to every
// stream it reaches. Routed is 0 when it reached none (AMQP mandatory).
func (b *Broker) Publish(exchange, routingKey string, msg Message, opts PublishOptions) (Receipt, error) {
	var targets []string
	var streams []*stream
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return Receipt{}, ErrClosed
	}
	if exchange == "" {
		if s, ok := b.streams[routingKey]; ok {
			streams = append(streams, s)
		}
	} else {
		if _, ok := b.exchanges[exchange]; !ok {
			b.mu.RUnlock()
			return Receipt{}, &NotFoundError{"exchange", exchange}
		}
		targets = b.routes.Route(exchange, routingKey, toRoutingHeaders(msg.Headers), targets)
		for _, t := range targets {
			if s, ok := b.streams[t]; ok {
				streams = append(streams, s)
			}
		}
	}
	b.mu.RUnlock()

	msg = msg.clone()
	now := b.now()
	if msg.Timestamp.IsZero() {
		msg.Timestamp = now
	}
	msg.SetHeader(HeaderExchange, []byte(exchange))
	msg.SetHeader(HeaderRoutingKey, []byte(routingKey))
	if opts.TTL > 0 {
		msg.setUnixMillis(HeaderExpiresAt, now.Add(opts.TTL).UnixMilli())
	}
	if opts.Delay > 0 {
		msg.setUnixMillis(HeaderNotBefore, now.Add(opts.Delay).UnixMilli())
	}
	var receipt Receipt
	for _, s := range streams {
		r, err := b.appendTo(s, -1, []Message{msg}, now)
		if err != nil {
			return receipt, err
		}
		if r.Duplicate {
			receipt.Duplicate = true
		}
		receipt.appended = append(receipt.appended, r.appended...)
		receipt.Base, receipt.Partition = r.Base, r.Partition
		receipt.Routed++
	}
	return receipt, nil
}

func toRoutingHeaders(hs []Header) []routing.Header {
	out := make([]routing.Header, len(hs))
	for i, h := range hs {
		out[i] = routing.Header{Key: h.Key, Value: h.Value}
	}
	return out
}

// Append writes messages to one partition of a stream (partition -1 picks
// one by key hash, or round-robin for keyless messages), as Kafka produce,
// XADD and SendMessage do. Messages go to disk as one batch.
func (b *Broker) Append(streamName string, partition int32, msgs []Message, opts PublishOptions) (Receipt, error) {
	s, err := b.stream(streamName)
	if err != nil {
		return Receipt{}, err
	}
	now := b.now()
	if opts.TTL > 0 || opts.Delay > 0 {
		copied := make([]Message, len(msgs))
		for i := range msgs {
			copied[i] = msgs[i].clone()
			if opts.TTL > 0 {
				copied[i].setUnixMillis(HeaderExpiresAt, now.Add(opts.TTL).UnixMilli())
			}
			if opts.Delay > 0 {
				copied[i].setUnixMillis(HeaderNotBefore, now.Add(opts.Delay).UnixMilli())
			}
		}
		msgs = copied
	}
	return b.appendTo(s, partition, msgs, now)
}

// AppendBatch stores a complete RecordBatch v2 (a Kafka producer's batch,
// possibly compressed) as it is, after checking its checksum.
func (b *Broker) AppendBatch(streamName string, partition int32, raw []byte) (Receipt, error) {
	s, err := b.stream(streamName)
	if err != nil {
		return Receipt{}, err
	}
	if partition < 0 || int(partition) >= len(s.parts) {
		return Receipt{}, ErrNoSuchPartition
	}
	if max := s.maxMessageBytes(b.opts.MaxMessageBytes); len(raw) > max+batch.HeaderSize {
		return Receipt{}, ErrMessageTooLarge
	}
	p := s.parts[partition]
	a, err := p.log.AppendBatch(raw)
	if err != nil {
		return Receipt{}, err
	}
	b.observe.Produced(s.name, int(a.End-a.Base), len(raw))
	return Receipt{Routed: 1, Base: a.Base, Partition: partition, appended: []storage.Appended{a}}, nil
}

func (s *stream) maxMessageBytes(brokerMax int) int {
	if s.cfg.MaxMessageBytes > 0 {
		return s.cfg.MaxMessageBytes
	}
	return brokerMax
}

func (b *Broker) appendTo(s *stream, partition int32, msgs []Message, now time.Time) (Receipt, error) {
	max := s.maxMessageBytes(b.opts.MaxMessageBytes)
	recs := make([]batch.Record, 0, len(msgs))
	size := 0
	for i := range msgs {
		if msgs[i].size() > max {
			return Receipt{}, ErrMessageTooLarge
		}
		if s.dedup != nil {
			if id, ok := msgs[i].HeaderValue(HeaderMessageID); ok && len(id) > 0 && !s.dedup.firstSeen(string(id), now) {
				continue
			}
		}
		rec := toRecord(&msgs[i])
		if rec.Timestamp == 0 {
			rec.Timestamp = now.UnixMilli()
		}
		recs = append(recs, rec)
		size += msgs[i].size()
	}
	if len(recs) == 0 {
		return Receipt{Routed: 1, Duplicate: true}, nil
	}
	if partition < 0 {
		partition = s.pickPartition(msgs[0].Key)
	}
	if int(partition) >= len(s.parts) {
		return Receipt{}, ErrNoSuchPartition
	}
	p := s.parts[partition]
	own := s.own
	if own != nil && s.cfg.MaxLength > 0 {
		p.appendMu.Lock()
		defer p.appendMu.Unlock()
		gp := own.parts[partition]
		if over := gp.backlog() + int64(len(recs)) - s.cfg.MaxLength; over > 0 {
			if s.cfg.Overflow == OverflowRejectPublish {
				return Receipt{}, ErrQueueFull
			}
			defer own.deadLetterAll(gp.dropHead(over))
		}
	}
	a, err := p.log.Append(recs)
	if err != nil {
		return Receipt{}, mapStorageErr(err)
	}
	b.observe.Produced(s.name, len(recs), size)
	return Receipt{Routed: 1, Base: a.Base, Partition: partition, appended: []storage.Appended{a}}, nil
}

// pickPartition hashes a key the way Kafka's default partitioner does
// (murmur2, positive), so every protocol agrees on where a key lives.
func (s *stream) pickPartition(key []byte) int32 {
	n := len(s.parts)
	if n <= 1 {
		return 0
	}
	if key == nil {
		return int32(s.roundRobin.Add(1) % uint32(n))
	}
	return int32((murmur2(key) & 0x7fffffff) % uint32(n))
}

// murmur2 is Kafka's variant of MurmurHash2 (seed 0x9747b28c).
func murmur2(data []byte) uint32 {
	const m, r = 0x5bd1e995, 24
	length := len(data)
	h := uint32(0x9747b28c) ^ uint32(length)
	for i := 0; i+4 <= length; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := length &^ 3
	switch length & 3 {
	case 3:
		h ^= uint32(data[tail+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[tail+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[tail])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// backlog counts records not yet settled: ready, delayed and in flight.
func (gp *groupPart) backlog() int64 {
	gp.mu.Lock()
	defer gp.mu.Unlock()
	return gp.backlogLocked()
}

func (gp *groupPart) backlogLocked() int64 {
	end := gp.p.log.EndOffset()
	if end <= gp.floor {
		return 0
	}
	return end - gp.floor - gp.settled.countFrom(gp.floor)
}

// dropHead marks the n oldest records that are not in flight for
// dead-lettering with reason maxlen (RabbitMQ's drop-head overflow).
func (gp *groupPart) dropHead(n int64) []*deadLetterWork {
	gp.mu.Lock()
	defer gp.mu.Unlock()
	var work []*deadLetterWork
	end := gp.p.log.EndOffset()
	for off := gp.floor; off < end && int64(len(work)) < n; off++ {
		if gp.isSettled(off) || gp.pending[off] != nil || gp.limbo[off] {
			continue
		}
		gp.limbo[off] = true
		work = append(work, &deadLetterWork{part: gp, offset: off, reason: ReasonMaxLength})
	}
	return work
}
