package broker

import (
	"context"
	"errors"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
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
	reached   []*stream // Publish: the streams appended to
}

// Streams names the streams a Publish appended the message to, in routing
// order, so a front-end can look at the queues it feeds (AMQP pacing)
// without routing the message a second time.
func (r Receipt) Streams() []string {
	names := make([]string, len(r.reached))
	for i, s := range r.reached {
		names[i] = s.name
	}
	return names
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
// stream it reaches. Routed is 0 when it reached none (AMQP mandatory). A
// full reject-publish queue among several makes it return ErrQueueFull with
// a receipt for the streams that took the message, as RabbitMQ still
// delivers to the others while it nacks the publish; a reject-publish-dlx
// queue has dead-lettered the message by then. An internal exchange
// refuses it with InternalExchangeError: messages reach one only through a
// binding from another exchange, or from the broker itself (republish).
func (b *Broker) Publish(exchange, routingKey string, msg Message, opts PublishOptions) (Receipt, error) {
	return b.publish(exchange, routingKey, msg, opts, false)
}

// republish is Publish for a message the broker sends on itself, a dead
// letter: as in RabbitMQ, it may go to an internal exchange.
func (b *Broker) republish(exchange, routingKey string, msg Message) (Receipt, error) {
	return b.publish(exchange, routingKey, msg, PublishOptions{}, true)
}

func (b *Broker) publish(exchange, routingKey string, msg Message, opts PublishOptions, internalOK bool) (Receipt, error) {
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
		x, ok := b.exchanges[exchange]
		if !ok {
			b.mu.RUnlock()
			return Receipt{}, &NotFoundError{"exchange", exchange}
		}
		if x.Internal && !internalOK {
			b.mu.RUnlock()
			return Receipt{}, &InternalExchangeError{exchange}
		}
		targets = b.routes.Route(exchange, routingKey, msg.Headers, targets)
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
	var refused error
	reached := streams[:0] // filtered in place: no allocation
	for _, s := range streams {
		r, err := b.appendTo(s, -1, []Message{msg}, now)
		if errors.Is(err, ErrQueueFull) {
			// RabbitMQ: a full reject-publish queue refuses the message
			// (the confirm is a nack) but the other queues still get it.
			refused = err
			continue
		}
		if err != nil {
			return receipt, err
		}
		if r.Duplicate {
			receipt.Duplicate = true
		}
		receipt.appended = append(receipt.appended, r.appended...)
		receipt.Base, receipt.Partition = r.Base, r.Partition
		receipt.Routed++
		reached = append(reached, s)
	}
	receipt.reached = reached
	return receipt, refused
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
// possibly compressed) as storage.Log.AppendBatch does: checksum and
// records checked, header's max timestamp taken from the records. With a
// group the batch is durable once the group commits; nil hands it to the
// partition's syncer at once.
func (b *Broker) AppendBatch(g *CommitGroup, streamName string, partition int32, raw []byte) (Receipt, error) {
	s, err := b.stream(streamName)
	if err != nil {
		return Receipt{}, err
	}
	parts := s.partitions()
	if partition < 0 || int(partition) >= len(parts) {
		return Receipt{}, ErrNoSuchPartition
	}
	if max := s.maxMessageBytes(b.opts.MaxMessageBytes); len(raw) > max+batch.HeaderSize {
		return Receipt{}, ErrMessageTooLarge
	}
	p := parts[partition]
	var a storage.Appended
	if g != nil {
		a, err = g.g.AppendBatch(p.log, raw)
	} else {
		a, err = p.log.AppendBatch(raw)
	}
	if err != nil {
		return Receipt{}, err
	}
	b.observe.Produced(s.name, int(a.End-a.Base), len(raw))
	return Receipt{Routed: 1, Base: a.Base, Partition: partition, appended: []storage.Appended{a}}, nil
}

func (s *stream) maxMessageBytes(brokerMax int) int {
	if n := s.config().MaxMessageBytes; n > 0 {
		return n
	}
	return brokerMax
}

// appendTo writes messages to a stream. Partition -1 places each message
// by its key, so one call may append to several partitions; the receipt then
// reports the first partition written.
func (b *Broker) appendTo(s *stream, partition int32, msgs []Message, now time.Time) (Receipt, error) {
	// One view of the partitions for the whole call: AddPartitions may
	// publish a longer list meanwhile, and every index below stays valid in
	// it because partitions are only ever added.
	parts := s.partitions()
	if int(partition) >= len(parts) {
		return Receipt{}, ErrNoSuchPartition
	}
	max := s.maxMessageBytes(b.opts.MaxMessageBytes)
	for i := range msgs {
		if msgs[i].size() > max {
			return Receipt{}, ErrMessageTooLarge
		}
	}
	if partition >= 0 || len(parts) == 1 {
		return b.appendToPartition(s, max0(partition), msgs, now)
	}
	byPartition := make([][]Message, len(parts))
	var order []int32 // partitions in order of first use
	for i := range msgs {
		p := s.pickPartition(&msgs[i], len(parts))
		if byPartition[p] == nil {
			order = append(order, p)
		}
		byPartition[p] = append(byPartition[p], msgs[i])
	}
	receipt := Receipt{Routed: 1, Duplicate: true}
	for i, p := range order {
		r, err := b.appendToPartition(s, p, byPartition[p], now)
		if err != nil {
			return receipt, err
		}
		if i == 0 {
			receipt.Base, receipt.Partition = r.Base, r.Partition
		}
		receipt.Duplicate = receipt.Duplicate && r.Duplicate
		receipt.appended = append(receipt.appended, r.appended...)
	}
	return receipt, nil
}

func max0(p int32) int32 {
	if p < 0 {
		return 0
	}
	return p
}

// appendToPartition is one batch to one partition: dedup, the queue's max
// length, then the append. Dead-lettering for drop-head and
// reject-publish-dlx runs after every lock is released, because it
// publishes and may come back to this very queue.
func (b *Broker) appendToPartition(s *stream, partition int32, msgs []Message, now time.Time) (Receipt, error) {
	recs := make([]batch.Record, 0, len(msgs))
	var admitted []string // ids this call added to the dedup window
	size := 0
	for i := range msgs {
		if s.dedup != nil {
			if id, ok := msgs[i].HeaderValue(HeaderMessageID); ok && len(id) > 0 {
				if !s.dedup.firstSeen(string(id), now) {
					continue
				}
				admitted = append(admitted, string(id))
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
		return Receipt{Routed: 1, Duplicate: true, Partition: partition}, nil
	}
	a, dropped, err := s.partitions()[partition].append(recs)
	if err != nil {
		// A refused message was never stored: its id must not block a retry.
		for _, id := range admitted {
			s.dedup.forget(id, now)
		}
		if errors.Is(err, ErrQueueFull) && s.config().Overflow == OverflowRejectPublishDLX {
			// As RabbitMQ, dead-letter it before the publisher hears of
			// the refusal; no lock is held here.
			s.own.deadLetterRefused(partition, recs)
		}
		return Receipt{}, err
	}
	if len(dropped) > 0 {
		// The records pushed out are older than this batch: once it is on
		// disk they are readable and can be dead-lettered.
		if err := a.Wait(context.Background()); err != nil {
			s.own.partsSnapshot()[partition].unmarkLimbo(dropped)
			return Receipt{}, mapStorageErr(err)
		}
		s.own.deadLetterAll(dropped)
	}
	b.observe.Produced(s.name, len(recs), size)
	return Receipt{Routed: 1, Base: a.Base, Partition: partition, appended: []storage.Appended{a}}, nil
}

// append enforces a queue's max length (records and body bytes) around the
// append it guards and returns the records that drop-head pushed out, for
// the caller to dead-letter once the lock is released.
func (p *partition) append(recs []batch.Record) (storage.Appended, []*deadLetterWork, error) {
	s := p.stream
	cfg := s.config()
	if s.own == nil || cfg.MaxLength <= 0 && cfg.MaxLengthBytes <= 0 {
		a, err := p.log.Append(recs)
		return a, nil, mapStorageErr(err)
	}
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	gp := s.own.partsSnapshot()[p.index]
	var size int64
	for i := range recs {
		size += int64(len(recs[i].Value))
	}
	// Count what has been written, not only what is durable: appends still
	// waiting for their fsync already occupy the queue.
	end := max(p.written, p.log.EndOffset())
	var dropped []*deadLetterWork
	gp.mu.Lock()
	overRecords, overBytes := gp.overLimitLocked(cfg, end, len(recs), size)
	if overRecords > 0 || overBytes > 0 {
		if cfg.Overflow.rejects() {
			gp.mu.Unlock()
			return storage.Appended{}, nil, ErrQueueFull
		}
		dropped = gp.dropHeadLocked(overRecords, overBytes, end)
	}
	gp.mu.Unlock()
	a, err := p.log.Append(recs)
	if err != nil {
		gp.unmarkLimbo(dropped) // nothing was added, so nothing needs to go
		return a, nil, mapStorageErr(err)
	}
	p.written = a.End
	if cfg.MaxLengthBytes > 0 {
		gp.noteAppended(a.Base, recs)
	}
	return a, dropped, nil
}

// pickPartition places a message: a priority queue by its priority level,
// anything else by hashing its key the way Kafka's default partitioner does
// (murmur2, positive), so every protocol agrees on where a key lives.
// n is the partition count the caller read.
func (s *stream) pickPartition(msg *Message, n int) int32 {
	if n <= 1 {
		return 0
	}
	if maxPriority := s.config().MaxPriority; maxPriority > 0 {
		return int32(min(msg.priority(), maxPriority))
	}
	key := msg.Key
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

// backlogLocked counts records below end not yet settled: ready, delayed
// and in flight. Records being dead-lettered are on their way out and not
// counted. It runs on every append to a bounded queue, so it relies on
// settled holding nothing below floor rather than scanning it.
func (gp *groupPart) backlogLocked(end int64) int64 {
	if end <= gp.floor {
		return 0
	}
	return end - gp.floor - gp.settled.count() - int64(len(gp.limbo))
}

// dropHeadLocked marks the oldest records that are not in flight for
// dead-lettering with reason maxlen (RabbitMQ's drop-head overflow) until
// at least records records and bytes body bytes are gone.
func (gp *groupPart) dropHeadLocked(records, bytes, end int64) []*deadLetterWork {
	var work []*deadLetterWork
	var freed int64
	gp.settled.forEachGap(gp.floor, end, func(off int64) bool {
		if gp.pending[off] == nil && !gp.limbo[off] {
			gp.limbo[off] = true
			w := &deadLetterWork{part: gp, offset: off, reason: ReasonMaxLength}
			if gp.bytes != nil {
				w.size = gp.bytes.remove(off)
				freed += int64(w.size)
			}
			work = append(work, w)
		}
		return int64(len(work)) < records || freed < bytes
	})
	return work
}

func (gp *groupPart) unmarkLimbo(work []*deadLetterWork) {
	gp.mu.Lock()
	defer gp.mu.Unlock()
	for _, w := range work {
		delete(gp.limbo, w.offset)
		if gp.bytes != nil && w.size > 0 {
			gp.bytes.add(w.offset, int(w.size))
		}
	}
}
