package broker

import (
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
)

// Dead-letter reasons, as RabbitMQ names them.
const (
	ReasonRejected      = "rejected"
	ReasonExpired       = "expired"
	ReasonMaxLength     = "maxlen"
	ReasonDeliveryLimit = "delivery_limit"
)

// Delivered is a record handed to a consumer.
type Delivered struct {
	Record
	Count       int  // 1 on first delivery
	Redelivered bool // delivered before (RabbitMQ's redelivered flag)
}

// recordVerdict is what dispatch decides about one candidate record.
type recordVerdict int

const (
	verdictDeliver recordVerdict = iota
	verdictExpired
	verdictDelay
	verdictBlocked // its key has a record in flight
)

func (gp *groupPart) judge(rec *batch.Record, now time.Time) (recordVerdict, time.Duration) {
	msg := Message{Headers: rec.Headers}
	nowMs := now.UnixMilli()
	if at, ok := msg.unixMillisHeader(HeaderExpiresAt); ok && at <= nowMs {
		return verdictExpired, 0
	}
	cfg := gp.g.config()
	if cfg.MessageTTL > 0 && rec.Timestamp+cfg.MessageTTL.Milliseconds() <= nowMs {
		return verdictExpired, 0
	}
	if nb, ok := msg.unixMillisHeader(HeaderNotBefore); ok && nb > nowMs {
		return verdictDelay, time.Duration(nb-nowMs) * time.Millisecond
	}
	if cfg.OrderByKey && rec.Key != nil && gp.held[string(rec.Key)] > 0 {
		return verdictBlocked, 0
	}
	return verdictDeliver, 0
}

// lookaheadBytes is how much of the log a group partition decodes ahead of
// its cursor: enough for a large receive, small enough to keep per group.
const lookaheadBytes = 64 << 10

// dispatch gathers what one receive hands out and what it dead-letters.
type dispatch struct {
	out     []Delivered
	work    []*deadLetterWork
	blocked []int64 // keyed records held back; back into ready afterwards
	// batched counts, per key, the records this very receive delivered
	// (ReceiveOptions.KeyBatches).
	batched map[string]int
}

// dispatchLocked hands out up to max records: released ones first, in offset
// order, then new ones below end (-1: as far as the log reaches). It
// returns deliveries and dead-letter work.
func (gp *groupPart) dispatchLocked(opts ReceiveOptions, max int, end int64, now time.Time) ([]Delivered, []*deadLetterWork, error) {
	d := dispatch{work: gp.expireLocked(now)}
	defer func() {
		for _, off := range d.blocked {
			gp.queued[off] = true
			gp.ready.push(off)
		}
	}()
	for len(d.out) < max && gp.ready.Len() > 0 {
		off := gp.ready.pop()
		delete(gp.queued, off)
		if gp.isSettled(off) || gp.pending[off] != nil || gp.limbo[off] {
			continue
		}
		rec, buf, ok, err := gp.p.readOne(off, gp.readBuf)
		gp.readBuf = buf
		if err != nil {
			d.blocked = append(d.blocked, off) // keep it ready
			return d.out, d.work, err
		}
		if !ok { // removed by retention
			gp.settleLocked(off)
			continue
		}
		gp.place(&d, rec, opts, now)
	}

	cursor := gp.next
	for len(d.out) < max && (end < 0 || gp.next < end) {
		rec, ok, err := gp.nextRecord()
		if err != nil {
			return d.out, d.work, err
		}
		if !ok {
			break
		}
		if off := rec.Offset; gp.isSettled(off) || gp.pending[off] != nil || gp.queued[off] || gp.limbo[off] {
			continue
		}
		gp.place(&d, rec, opts, now)
	}
	if gp.next != cursor {
		gp.logOp(deltaOp{op: opCursor, offset: gp.next})
	}
	return d.out, d.work, nil
}

// place decides one candidate record: deliver it, expire it to the dead
// letters, delay it, or hold it back behind its key.
func (gp *groupPart) place(d *dispatch, rec batch.Record, opts ReceiveOptions, now time.Time) {
	off := rec.Offset
	switch verdict, delay := gp.judge(&rec, now); verdict {
	case verdictExpired:
		gp.limbo[off] = true
		expired := rec // only this branch keeps a pointer: &rec would move every candidate to the heap
		d.work = append(d.work, &deadLetterWork{part: gp, offset: off, count: int(gp.counts[off]), reason: ReasonExpired, record: &expired})
	case verdictDelay:
		gp.requeueLocked(off, delay, now)
	case verdictBlocked:
		// With KeyBatches a key held only by this receive's own
		// deliveries stays open: the batch takes its records in order.
		if !opts.KeyBatches || d.batched[string(rec.Key)] != gp.held[string(rec.Key)] {
			d.blocked = append(d.blocked, off)
			return
		}
		fallthrough
	default:
		d.out = append(d.out, gp.deliverLocked(rec, opts, now))
		if opts.KeyBatches && rec.Key != nil {
			if d.batched == nil {
				d.batched = map[string]int{}
			}
			d.batched[string(rec.Key)]++
		}
	}
}

// nextRecord returns the record at the cursor and moves the cursor past it.
// Records are decoded a block at a time and kept, so that receiving one
// record at a time does not decode the same block over and over.
func (gp *groupPart) nextRecord() (batch.Record, bool, error) {
	if start := gp.p.log.StartOffset(); gp.next < start {
		gp.next = start
	}
	for len(gp.lookahead) > 0 && gp.lookahead[0].Offset < gp.next {
		gp.lookahead = gp.lookahead[1:]
	}
	if len(gp.lookahead) > 0 && gp.lookahead[0].Offset != gp.next {
		gp.lookahead = nil // the cursor was moved back (MoveNext)
	}
	if len(gp.lookahead) == 0 {
		gp.lookahead = nil
		if gp.next >= gp.p.log.EndOffset() {
			return batch.Record{}, false, nil
		}
		recs, err := gp.p.log.ReadRecords(gp.next, lookaheadBytes, nil)
		if err != nil || len(recs) == 0 {
			return batch.Record{}, false, err
		}
		gp.lookahead = recs
	}
	rec := gp.lookahead[0]
	gp.lookahead = gp.lookahead[1:]
	gp.next = rec.Offset + 1
	return rec, true, nil
}

func (gp *groupPart) deliverLocked(rec batch.Record, opts ReceiveOptions, now time.Time) Delivered {
	count := int(gp.counts[rec.Offset]) + 1
	delete(gp.counts, rec.Offset)
	d := &Delivery{
		Partition:     gp.p.index,
		Offset:        rec.Offset,
		Consumer:      opts.Consumer,
		Count:         count,
		LastDelivered: now,
		Persistent:    opts.Persistent,
		appendedAtMs:  rec.Timestamp,
	}
	if opts.Lease > 0 {
		d.Deadline = now.Add(opts.Lease)
		gp.leases.push(d.Deadline, rec.Offset)
		gp.armTimerLocked(d.Deadline)
	}
	if gp.g.config().OrderByKey && rec.Key != nil {
		d.key, d.keyed = string(rec.Key), true
		gp.held[d.key]++
	}
	gp.pending[rec.Offset] = d
	gp.logOp(deltaOp{op: opDeliver, offset: rec.Offset, count: int32(count), deadline: msOrZero(d.Deadline),
		deliveredAt: now.UnixMilli(), persistent: opts.Persistent, consumer: opts.Consumer})
	if count > 1 {
		gp.g.b.observe.Redelivered(gp.g.stream.name, gp.g.name)
	}
	return Delivered{Record: fromRecord(gp.p.index, rec), Count: count, Redelivered: count > 1}
}

func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
