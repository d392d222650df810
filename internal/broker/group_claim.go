package broker

import (
	"slices"
	"time"
)

// ClaimOptions says how Claim and AutoClaim take pending deliveries over
// from their current consumer (Redis XCLAIM and XAUTOCLAIM: a consumer that
// died leaves entries that another must finish).
type ClaimOptions struct {
	// Consumer becomes the owner of every claimed delivery.
	Consumer string
	// MinIdle skips deliveries handed out less than this long ago.
	MinIdle time.Duration
	// DeliveredAt, when not zero, becomes the last-delivery time of the
	// claimed deliveries (Redis IDLE and TIME); otherwise now.
	DeliveredAt time.Time
	// RetryCount, when at least 0, sets the delivery count; otherwise the
	// count is raised by one unless KeepCount is set (Redis JUSTID).
	RetryCount int
	KeepCount  bool
	// Force makes a record that is not pending (but was handed out to the
	// group, i.e. lies below the group's read position, and is not settled)
	// pending for Consumer.
	Force bool
}

// ClaimResult reports what a claim did.
type ClaimResult struct {
	Claimed []Delivery
	// Gone are pending deliveries whose record no longer exists (trimmed or
	// deleted); they are removed from the pending list, as Redis 7 does.
	Gone []Ref
	// DeadLettered are deliveries that had reached the group's delivery
	// limit: instead of being claimed they went to the dead-letter target.
	DeadLettered []Ref
}

// Claim takes over the pending deliveries named by refs (Count is ignored).
func (h Group) Claim(refs []Ref, opts ClaimOptions) (ClaimResult, error) {
	var res ClaimResult
	var work []*deadLetterWork
	now := h.g.b.now()
	for _, ref := range refs {
		gp, err := h.g.part(ref)
		if err != nil {
			return res, err
		}
		gp.mu.Lock()
		w := gp.claimLocked(ref.Offset, opts, now, &res)
		gp.flush()
		gp.mu.Unlock()
		if w != nil {
			work = append(work, w)
		}
	}
	h.g.deadLetterAll(work)
	return res, nil
}

// AutoClaim scans the pending deliveries of one partition from offset from
// on, in offset order, and claims those idle for at least opts.MinIdle. It
// stops after count deliveries claimed or gone, or after scanning 10×count
// entries (as Redis does), and returns where the next scan should start,
// or -1 when the scan reached the end of the pending list.
func (h Group) AutoClaim(partition int32, from int64, count int, opts ClaimOptions) (ClaimResult, int64, error) {
	var res ClaimResult
	gp, err := h.g.part(Ref{Partition: partition})
	if err != nil {
		return res, -1, err
	}
	if count <= 0 {
		count = 100
	}
	opts.Force = false
	now := h.g.b.now()
	var work []*deadLetterWork
	gp.mu.Lock()
	offsets := make([]int64, 0, len(gp.pending))
	for off := range gp.pending {
		if off >= from {
			offsets = append(offsets, off)
		}
	}
	slices.Sort(offsets)
	next := int64(-1)
	attempts := count * 10
	for _, off := range offsets {
		if attempts == 0 || count == 0 {
			next = off
			break
		}
		attempts--
		before := len(res.Claimed) + len(res.Gone) + len(res.DeadLettered)
		if w := gp.claimLocked(off, opts, now, &res); w != nil {
			work = append(work, w)
		}
		if len(res.Claimed)+len(res.Gone)+len(res.DeadLettered) > before {
			count--
		}
	}
	gp.flush()
	gp.mu.Unlock()
	h.g.deadLetterAll(work)
	return res, next, nil
}

// claimLocked claims one offset; the caller holds gp.mu and flushes.
func (gp *groupPart) claimLocked(off int64, opts ClaimOptions, now time.Time, res *ClaimResult) *deadLetterWork {
	ref := Ref{Partition: gp.p.index, Offset: off}
	d := gp.pending[off]
	if d == nil {
		if !opts.Force || off >= gp.next || gp.isSettled(off) || gp.limbo[off] || gp.queued[off] ||
			off < gp.p.log.StartOffset() {
			return nil
		}
		d = &Delivery{Partition: gp.p.index, Offset: off, Persistent: true, LastDelivered: now}
		d.Count = int(gp.counts[off])
		delete(gp.counts, off)
		gp.pending[off] = d
	} else if opts.MinIdle > 0 && now.Sub(d.LastDelivered) < opts.MinIdle {
		return nil
	}
	if off < gp.p.log.StartOffset() {
		gp.takePending(off)
		gp.settleLocked(off)
		res.Gone = append(res.Gone, ref)
		return nil
	}
	if limit := gp.g.config().DeliveryLimit; limit > 0 && !opts.KeepCount && opts.RetryCount < 0 && d.Count >= limit {
		gp.takePending(off)
		gp.limbo[off] = true
		res.DeadLettered = append(res.DeadLettered, ref)
		return &deadLetterWork{part: gp, offset: off, count: d.Count, reason: ReasonDeliveryLimit}
	}
	d.Consumer = opts.Consumer
	d.Persistent = true
	switch {
	case opts.RetryCount >= 0:
		d.Count = opts.RetryCount
	case !opts.KeepCount:
		d.Count++
	}
	d.LastDelivered = now
	if !opts.DeliveredAt.IsZero() {
		d.LastDelivered = opts.DeliveredAt
	}
	d.Deadline = time.Time{}
	gp.logOp(deltaOp{op: opDeliver, offset: off, count: int32(d.Count), deliveredAt: d.LastDelivered.UnixMilli(),
		persistent: true, consumer: d.Consumer})
	res.Claimed = append(res.Claimed, *d)
	return nil
}

// Forget settles every pending delivery of consumer, as Redis drops a
// deleted consumer's pending entries (XGROUP DELCONSUMER); the records are
// not handed out again. It returns how many it settled.
func (h Group) Forget(consumer string) int {
	var refs []Ref
	for _, d := range h.Pending(consumer) {
		refs = append(refs, Ref{Partition: d.Partition, Offset: d.Offset})
	}
	n, _ := h.Ack(refs...)
	return n
}

// SetDeliveryPolicy changes the group's delivery limit and dead-letter
// target in memory. Front-ends that keep the policy elsewhere (the Redis
// front-end stores it in the stream's attributes) apply it again after a
// restart.
func (h Group) SetDeliveryPolicy(limit int, target *DeadLetterTarget) {
	cfg := h.g.config()
	cfg.DeliveryLimit = limit
	cfg.DeadLetter = target
	h.g.setConfig(cfg)
}
