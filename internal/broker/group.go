package broker

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// group is a shared group over every partition of a stream.
type group struct {
	b      *Broker
	id     uint32
	name   string
	stream *stream
	// parts has one entry per partition of the stream. Like stream.parts it
	// only grows, by publishing a longer copy; read it with partsSnapshot.
	parts atomic.Pointer[[]*groupPart]

	// cfg is read for every record dispatched and written only by
	// UpdateStream, so it is swapped whole rather than locked.
	cfg atomic.Pointer[GroupConfig]

	mu          sync.Mutex
	consumers   []*groupConsumer // in arrival order; the first is the single active one
	byName      map[string]*groupConsumer
	ranks       consumerRanks
	hadConsumer bool
	wake        chan struct{}
	closed      bool
	rr          int // round-robin start partition
	// ranked is set while the registered consumers differ in priority;
	// receives check ranks only then.
	ranked atomic.Bool
}

// partsSnapshot returns the group's partitions as they are now.
func (g *group) partsSnapshot() []*groupPart {
	if p := g.parts.Load(); p != nil {
		return *p
	}
	return nil
}

func (g *group) config() GroupConfig { return *g.cfg.Load() }

func (g *group) setConfig(c GroupConfig) { g.cfg.Store(&c) }

// signal wakes every receiver waiting on the group.
func (g *group) signal() {
	g.mu.Lock()
	close(g.wake)
	g.wake = make(chan struct{})
	g.mu.Unlock()
}

func (g *group) wakeChan() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.wake
}

func (g *group) stopTimers() {
	for _, gp := range g.partsSnapshot() {
		gp.stopTimer()
	}
}

func (g *group) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.stopTimers()
	g.signal()
}

func (g *group) isClosed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

// Group is a handle on a shared group: competing consumers, deliveries and
// their settlement. A queue's own group is Broker.Queue(name).
type Group struct{ g *group }

// ReceiveOptions says who receives and on what terms.
type ReceiveOptions struct {
	Consumer string
	Max      int // at most this many records; 0 means 1
	// Wait blocks until at least one record is delivered or ctx ends.
	Wait bool
	// Lease is how long a delivery stays with the consumer before it is
	// released again (SQS visibility timeout); 0 means until settled,
	// released, or the consumer leaves.
	Lease time.Duration
	// Persistent deliveries stay pending when the consumer leaves and across
	// restarts, until settled or claimed (Redis consumer groups).
	Persistent bool
	// KeyBatches lets one receive take several records of a key in order
	// under OrderByKey (an SQS FIFO receive returns a message group's
	// messages together); the key is then held until all are settled.
	KeyBatches bool
}

// Ref names one delivery for settlement. Count, when not zero, must match
// the delivery's count, so a stale receipt cannot settle a later delivery.
type Ref struct {
	Partition int32
	Offset    int64
	Count     int
}

// Queue returns the own shared group of the queue name.
func (b *Broker) Queue(name string) (Group, error) {
	s, err := b.stream(name)
	if err != nil {
		return Group{}, err
	}
	if s.own == nil {
		return Group{}, &NotFoundError{"queue", name}
	}
	return Group{s.own}, nil
}

// Name returns the group's name ("" for a queue's own group).
func (h Group) Name() string { return h.g.name }

// Stream returns the name of the stream the group reads.
func (h Group) Stream() string { return h.g.stream.name }

// Config returns the group's configuration.
func (h Group) Config() GroupConfig { return h.g.config() }

// Receive hands out records to a consumer.
func (h Group) Receive(ctx context.Context, opts ReceiveOptions) ([]Delivered, error) {
	g := h.g
	max := opts.Max
	if max <= 0 {
		max = 1
	}
	g.stream.touch(g.b.now())
	for {
		if g.isClosed() {
			return nil, ErrClosed
		}
		wake := g.wakeChan()
		var changed []<-chan struct{}
		var out []Delivered
		if g.mayReceive(opts.Consumer) {
			var err error
			out, changed, err = g.receiveOnce(opts, max)
			if err != nil || len(out) > 0 || !opts.Wait {
				return out, err
			}
		} else if !opts.Wait {
			return nil, nil
		}
		if err := waitAny(ctx, wake, changed); err != nil {
			return nil, err
		}
	}
}

func (g *group) receiveOnce(opts ReceiveOptions, max int) ([]Delivered, []<-chan struct{}, error) {
	var out []Delivered
	var work []*deadLetterWork
	parts := g.partsSnapshot()
	changed := make([]<-chan struct{}, 0, len(parts))
	// With consumer priorities, look at how far each log reaches before
	// asking whether a higher consumer is free, and take nothing beyond:
	// a record published after that consumer became free is then never
	// taken here, however this goroutine is scheduled. The change
	// channels come first, so a record that turns up past a log's end
	// still wakes the receive.
	var ends []int64
	if g.ranked.Load() {
		ends = make([]int64, len(parts))
		for _, gp := range parts {
			changed = append(changed, gp.p.log.Changed())
		}
		for i, gp := range parts {
			ends[i] = gp.p.log.EndOffset()
		}
		if g.outranked(opts.Consumer) {
			return nil, nil, nil // wait for a wake-up: a higher consumer blocks or leaves
		}
	}
	g.mu.Lock()
	start := g.rr % len(parts)
	g.rr = (start + 1) % len(parts)
	g.mu.Unlock()
	priority := g.stream.config().MaxPriority > 0
	now := g.b.now()
	var err error
	for i := 0; i < len(parts) && len(out) < max; i++ {
		idx := (start + i) % len(parts)
		if priority { // highest level first, every time
			idx = len(parts) - 1 - i
		}
		gp := parts[idx]
		end := int64(-1)
		if ends != nil {
			end = ends[idx]
		} else {
			changed = append(changed, gp.p.log.Changed())
		}
		gp.mu.Lock()
		var got []Delivered
		var w []*deadLetterWork
		got, w, err = gp.dispatchLocked(opts, max-len(out), end, now)
		gp.flush()
		gp.mu.Unlock()
		out = append(out, got...)
		work = append(work, w...)
		if err != nil {
			break
		}
	}
	g.deadLetterAll(work)
	return out, changed, err
}

// waitAny blocks until any channel closes or ctx ends.
func waitAny(ctx context.Context, wake <-chan struct{}, changed []<-chan struct{}) error {
	switch len(changed) {
	case 0:
		select {
		case <-wake:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	case 1:
		select {
		case <-wake:
			return nil
		case <-changed[0]:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// Several partitions: one select over all of them, no helper goroutines.
	cases := make([]reflect.SelectCase, 0, len(changed)+2)
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(wake)})
	for _, ch := range changed {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	if chosen, _, _ := reflect.Select(cases); chosen == 0 {
		return ctx.Err()
	}
	return nil
}

func (g *group) part(ref Ref) (*groupPart, error) {
	parts := g.partsSnapshot()
	if ref.Partition < 0 || int(ref.Partition) >= len(parts) {
		return nil, ErrNoSuchPartition
	}
	return parts[ref.Partition], nil
}

// Ack settles deliveries and returns how many were pending.
func (h Group) Ack(refs ...Ref) (int, error) {
	return h.settleEach(refs, func(gp *groupPart, d *Delivery, now time.Time) *deadLetterWork {
		gp.settleLocked(d.Offset)
		h.g.b.observe.Consumed(h.g.stream.name, h.g.name, now.Sub(time.UnixMilli(d.appendedAtMs)))
		return nil
	})
}

// Release returns deliveries for redelivery after delay (AMQP nack with
// requeue, SQS visibility set to delay). A record past the delivery limit is
// dead-lettered instead.
func (h Group) Release(delay time.Duration, refs ...Ref) (int, error) {
	return h.settleEach(refs, func(gp *groupPart, d *Delivery, now time.Time) *deadLetterWork {
		return gp.releaseLocked(d, delay, now)
	})
}

// Reject dead-letters deliveries (AMQP reject or nack without requeue), or
// drops them when the group has no dead-letter target.
func (h Group) Reject(refs ...Ref) (int, error) {
	return h.settleEach(refs, func(gp *groupPart, d *Delivery, now time.Time) *deadLetterWork {
		gp.limbo[d.Offset] = true
		return &deadLetterWork{part: gp, offset: d.Offset, count: d.Count, reason: ReasonRejected}
	})
}

// settleEach applies fn to every delivery of refs still pending. Refs in a
// row on one partition (a multiple ack) share one lock and one journal
// record. A bad ref stops it, but what it took before is still
// dead-lettered.
func (h Group) settleEach(refs []Ref, fn func(*groupPart, *Delivery, time.Time) *deadLetterWork) (int, error) {
	n := 0
	now := h.g.b.now()
	var work []*deadLetterWork
	var locked *groupPart
	unlock := func() {
		if locked != nil {
			locked.flush()
			locked.mu.Unlock()
			locked = nil
		}
	}
	var err error
	for _, ref := range refs {
		var gp *groupPart
		if gp, err = h.g.part(ref); err != nil {
			break
		}
		if gp != locked {
			unlock()
			gp.mu.Lock()
			locked = gp
		}
		d := gp.pending[ref.Offset]
		if d != nil && (ref.Count == 0 || ref.Count == d.Count) {
			gp.takePending(ref.Offset)
			if w := fn(gp, d, now); w != nil {
				work = append(work, w)
			}
			n++
		}
	}
	unlock()
	h.g.deadLetterAll(work)
	return n, err
}

// ExtendLease sets a new lease on pending deliveries, counted from now; a
// zero lease makes them deliverable again at once (SQS
// ChangeMessageVisibility). It returns how many were pending.
func (h Group) ExtendLease(lease time.Duration, refs ...Ref) (int, error) {
	if lease <= 0 {
		return h.Release(0, refs...)
	}
	n := 0
	now := h.g.b.now()
	for _, ref := range refs {
		gp, err := h.g.part(ref)
		if err != nil {
			return n, err
		}
		gp.mu.Lock()
		if d := gp.pending[ref.Offset]; d != nil && (ref.Count == 0 || ref.Count == d.Count) {
			d.Deadline = now.Add(lease)
			gp.leases.push(d.Deadline, d.Offset)
			gp.armTimerLocked(d.Deadline)
			gp.logOp(deltaOp{op: opDeliver, offset: d.Offset, count: int32(d.Count), deadline: d.Deadline.UnixMilli(),
				deliveredAt: d.LastDelivered.UnixMilli(), persistent: d.Persistent, consumer: d.Consumer})
			n++
		}
		gp.flush()
		gp.mu.Unlock()
	}
	return n, nil
}

// Pending lists pending deliveries in offset order, optionally only those of
// one consumer.
func (h Group) Pending(consumer string) []Delivery {
	var out []Delivery
	for _, gp := range h.g.partsSnapshot() {
		gp.mu.Lock()
		for _, d := range gp.pending {
			if consumer == "" || d.Consumer == consumer {
				out = append(out, *d)
			}
		}
		gp.mu.Unlock()
	}
	sortDeliveries(out)
	return out
}

// ReleaseConsumer makes every non-persistent delivery held by consumer
// deliverable again (an AMQP channel closed with unacked messages).
func (h Group) ReleaseConsumer(consumer string) int {
	n := 0
	now := h.g.b.now()
	var work []*deadLetterWork
	for _, gp := range h.g.partsSnapshot() {
		gp.mu.Lock()
		for off, d := range gp.pending {
			if d.Consumer != consumer || d.Persistent {
				continue
			}
			gp.takePending(off)
			if w := gp.releaseLocked(d, 0, now); w != nil {
				work = append(work, w)
			}
			n++
		}
		gp.flush()
		gp.mu.Unlock()
	}
	h.g.deadLetterAll(work)
	return n
}

// Purge settles every record not in flight and returns how many it removed,
// once that is on disk (queue.purge-ok and PurgeQueue reply to it). It is one
// journal operation however many records go.
func (h Group) Purge() (int64, error) {
	var n int64
	for _, gp := range h.g.partsSnapshot() {
		gp.mu.Lock()
		end := max(gp.p.log.EndOffset(), gp.next)
		from := gp.floor
		n += gp.purgeLocked(from, end)
		gp.logOp(deltaOp{op: opPurge, offset: from, to: end})
		gp.ready, gp.delayed = nil, nil
		gp.queued = make(map[int64]bool)
		if gp.next < end {
			gp.next = end
			gp.logOp(deltaOp{op: opCursor, offset: end})
		}
		gp.flush()
		gp.mu.Unlock()
	}
	return n, h.g.b.journal.sync(context.Background())
}

// purgeLocked settles [from, to) except deliveries in flight or being
// dead-lettered, and returns how many it settled.
func (gp *groupPart) purgeLocked(from, to int64) int64 {
	keep := make([]int64, 0, len(gp.pending)+len(gp.limbo))
	for off := range gp.pending {
		keep = append(keep, off)
	}
	for off := range gp.limbo {
		keep = append(keep, off)
	}
	slices.Sort(keep)
	n := gp.settled.settleAllBut(from, to, keep)
	gp.floor = gp.settled.advance(gp.floor)
	if gp.bytes != nil {
		for off := range gp.bytes.sizes {
			if off >= from && off < to && gp.pending[off] == nil && !gp.limbo[off] {
				gp.bytes.remove(off)
			}
		}
	}
	for off := range gp.counts {
		if off < to && gp.pending[off] == nil {
			delete(gp.counts, off)
		}
	}
	return n
}

// Ref returns the reference that settles this delivery.
func (d Delivery) Ref() Ref { return Ref{Partition: d.Partition, Offset: d.Offset, Count: d.Count} }
