package broker

import "context"

// MoveNext sets where a shared group reads new records from on one
// partition (Redis XGROUP CREATE and SETID); pending entries stay. Every
// record below offset that is not pending is settled, so the group never
// hands those out; moving back below what the group has settled unsettles
// everything from offset on, so those records are handed out again. Both
// hold after a restart.
func (h Group) MoveNext(partition int32, offset int64) error {
	gp, err := h.g.part(Ref{Partition: partition})
	if err != nil {
		return err
	}
	gp.mu.Lock()
	defer gp.mu.Unlock()
	if offset > gp.floor {
		from := gp.floor
		gp.purgeLocked(from, offset)
		gp.logOp(deltaOp{op: opPurge, offset: from, to: offset})
	}
	// The purge may have raised the floor past offset; and a record still
	// pending below offset keeps the floor under records settled above it.
	if unsettleFrom(&gp.floor, &gp.settled, offset) {
		gp.logOp(deltaOp{op: opRewind, offset: offset})
	}
	gp.next = offset
	gp.logOp(deltaOp{op: opCursor, offset: offset})
	gp.flush()
	h.g.signal()
	return nil
}

// Changed returns a channel closed the next time the group may have records
// to hand out that no append made readable (a release, a lease or delay
// running out, MoveNext). A front-end that waits on several groups at once
// (Redis XREADGROUP over several streams) waits on these and on the
// partitions' Changed channels with WaitAny.
func (h Group) Changed() <-chan struct{} { return h.g.wakeChan() }

// WaitAny blocks until one of chans is closed or ctx ends, without helper
// goroutines however many channels it watches.
func WaitAny(ctx context.Context, chans ...<-chan struct{}) error {
	if len(chans) == 0 {
		return waitAny(ctx, nil, nil)
	}
	return waitAny(ctx, chans[0], chans[1:])
}

// unsettleFrom makes every offset from off on unsettled, given a group
// partition's floor and the offsets settled above it, and reports whether
// any was settled. MoveNext and the replay of its rewind share it.
func unsettleFrom(floor *int64, settled *offsetSet, off int64) bool {
	if off < *floor {
		*floor, *settled = off, offsetSet{}
		return true
	}
	return settled.removeFrom(off) > 0
}
