package broker

import (
	"sync"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
	"github.com/gannet-mq/gannet/internal/clock"
)

// Delivery is a record handed to a consumer and not yet settled.
type Delivery struct {
	Partition     int32
	Offset        int64
	Consumer      string
	Count         int       // deliveries so far, this one included
	Deadline      time.Time // lease end; zero means held until released
	LastDelivered time.Time
	Persistent    bool  // survives the consumer leaving and a restart (Redis)
	appendedAtMs  int64 // for the consume latency metric
	key           string
	keyed         bool
}

// groupPart is a shared group's state on one partition. Everything below
// floor is settled; next is the first offset never handed out; between them
// each offset is settled, pending, ready (released), delayed or in limbo
// (being dead-lettered).
type groupPart struct {
	g     *group
	p     *partition
	clock clock.Clock

	mu      sync.Mutex
	floor   int64
	next    int64
	settled offsetSet // only offsets above floor: every change ends with advance
	pending map[int64]*Delivery
	ready   offsetHeap
	queued  map[int64]bool // in ready or delayed
	delayed timeHeap
	counts  map[int64]int32 // delivery counts of released records
	limbo   map[int64]bool
	held    map[string]int // OrderByKey: keys with a record in flight
	leases  timeHeap       // pending deadlines; stale entries skipped
	timer   clock.Timer
	timerAt time.Time
	closed  bool
	readBuf []batch.Record
	// lookahead holds decoded records from next on (see nextRecord).
	lookahead []batch.Record
	delta     []byte
	deltaOps  int
	// bytes counts unsettled body bytes; nil unless the queue has MaxLengthBytes.
	bytes *byteBacklog
}

func newGroupPart(g *group, p *partition, start int64, c clock.Clock) *groupPart {
	return &groupPart{
		g: g, p: p, clock: c,
		floor: start, next: start,
		pending: make(map[int64]*Delivery),
		queued:  make(map[int64]bool),
		counts:  make(map[int64]int32),
		limbo:   make(map[int64]bool),
		held:    make(map[string]int),
	}
}

// deadLetterWork is a record to move to the dead-letter target once the
// group lock is released.
type deadLetterWork struct {
	part   *groupPart
	offset int64
	count  int
	size   int32 // body bytes taken off a byte-limited backlog by drop-head
	reason string
	record *batch.Record // nil until read
}

// journal helpers: ops gather in gp.delta and go out as one record in flush.
func (gp *groupPart) logOp(o deltaOp) {
	if gp.deltaOps == 0 {
		gp.delta = appendDeltaHeader(gp.delta[:0], gp.g.id, gp.p.index)
	}
	gp.delta = appendDeltaOp(gp.delta, o)
	gp.deltaOps++
}

func (gp *groupPart) flush() {
	if gp.deltaOps == 0 {
		return
	}
	gp.g.b.journal.add(kindDelta, append([]byte(nil), gp.delta...))
	gp.deltaOps = 0
}

// settle marks offset done; the caller holds gp.mu.
func (gp *groupPart) settleLocked(off int64) {
	if off < gp.floor || gp.settled.contains(off) {
		return
	}
	gp.settled.add(off)
	gp.floor = gp.settled.advance(gp.floor)
	delete(gp.counts, off)
	if gp.bytes != nil {
		gp.bytes.remove(off)
	}
	gp.logOp(deltaOp{op: opSettle, offset: off})
}

func (gp *groupPart) isSettled(off int64) bool { return off < gp.floor || gp.settled.contains(off) }

func (gp *groupPart) settledFloor() int64 {
	gp.mu.Lock()
	defer gp.mu.Unlock()
	return gp.floor
}

// take removes a pending delivery, returning it.
func (gp *groupPart) takePending(off int64) *Delivery {
	d := gp.pending[off]
	if d == nil {
		return nil
	}
	delete(gp.pending, off)
	if d.keyed {
		if gp.held[d.key]--; gp.held[d.key] <= 0 {
			delete(gp.held, d.key)
		}
	}
	return d
}

// releaseLocked puts a record back for redelivery after delay, or returns it
// for dead-lettering once the delivery limit is spent.
func (gp *groupPart) releaseLocked(d *Delivery, delay time.Duration, now time.Time) *deadLetterWork {
	limit := gp.g.config().DeliveryLimit
	if limit > 0 && d.Count >= limit {
		gp.limbo[d.Offset] = true
		return &deadLetterWork{part: gp, offset: d.Offset, count: d.Count, reason: ReasonDeliveryLimit}
	}
	gp.counts[d.Offset] = int32(d.Count)
	var notBefore int64
	if delay > 0 {
		notBefore = now.Add(delay).UnixMilli()
	}
	gp.logOp(deltaOp{op: opRelease, offset: d.Offset, count: int32(d.Count), deadline: notBefore})
	gp.requeueLocked(d.Offset, delay, now)
	return nil
}

func (gp *groupPart) requeueLocked(off int64, delay time.Duration, now time.Time) {
	if gp.queued[off] {
		return
	}
	gp.queued[off] = true
	if delay > 0 {
		gp.delayed.push(now.Add(delay), off)
		gp.armTimerLocked(now.Add(delay))
		return
	}
	gp.ready.push(off)
	gp.g.signal()
}

// expireLocked releases leases past their deadline and promotes due delays.
func (gp *groupPart) expireLocked(now time.Time) []*deadLetterWork {
	var work []*deadLetterWork
	for {
		top, ok := gp.leases.peek()
		if !ok || top.at.After(now) {
			break
		}
		gp.leases.pop()
		d := gp.pending[top.offset]
		if d == nil || !d.Deadline.Equal(top.at) {
			continue // settled or re-leased since
		}
		gp.takePending(top.offset)
		gp.g.b.observe.Redelivered(gp.g.stream.name, gp.g.name)
		if w := gp.releaseLocked(d, 0, now); w != nil {
			work = append(work, w)
		}
	}
	for {
		top, ok := gp.delayed.peek()
		if !ok || top.at.After(now) {
			break
		}
		gp.delayed.pop()
		gp.ready.push(top.offset)
		gp.g.signal()
	}
	gp.armNextTimerLocked()
	return work
}

func (gp *groupPart) armNextTimerLocked() {
	var next time.Time
	if top, ok := gp.leases.peek(); ok {
		next = top.at
	}
	if top, ok := gp.delayed.peek(); ok && (next.IsZero() || top.at.Before(next)) {
		next = top.at
	}
	if !next.IsZero() {
		gp.armTimerLocked(next)
	}
}

// armTimerLocked makes sure a timer fires no later than at.
func (gp *groupPart) armTimerLocked(at time.Time) {
	if gp.closed || (gp.timer != nil && !gp.timerAt.After(at)) {
		return
	}
	if gp.timer != nil {
		gp.timer.Stop()
	}
	gp.timerAt = at
	gp.timer = gp.clock.AfterFunc(at.Sub(gp.clock.Now()), gp.onTimer)
}

func (gp *groupPart) onTimer() {
	gp.mu.Lock()
	gp.timer = nil
	gp.timerAt = time.Time{}
	if gp.closed {
		gp.mu.Unlock()
		return
	}
	work := gp.expireLocked(gp.clock.Now())
	gp.flush()
	gp.mu.Unlock()
	gp.g.deadLetterAll(work)
}

func (gp *groupPart) stopTimer() {
	gp.mu.Lock()
	defer gp.mu.Unlock()
	gp.closed = true
	if gp.timer != nil {
		gp.timer.Stop()
		gp.timer = nil
	}
}
