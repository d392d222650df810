package broker

import "strings"

// Tombstones: a front-end that deletes single entries (Redis XDEL) keeps
// them as the settled set of a group of its own on the stream; these
// methods settle arbitrary offsets and query the set. The group's state
// is journaled like any other, so deletions survive restarts.

// InternalGroupPrefix starts the name of a group that a front-end keeps for
// its own bookkeeping (the Redis front-end's XDEL tombstones). Stats leaves
// such groups out, so they never show as consumers, lag or backlog.
const InternalGroupPrefix = "\x00"

func isInternalGroup(name string) bool { return strings.HasPrefix(name, InternalGroupPrefix) }

// SettleOffsets settles records of one partition whether or not they were
// delivered (a pending delivery is taken off the pending list). It returns
// how many were not settled before.
func (h Group) SettleOffsets(partition int32, offsets ...int64) (int, error) {
	gp, err := h.g.part(Ref{Partition: partition})
	if err != nil {
		return 0, err
	}
	gp.mu.Lock()
	defer gp.mu.Unlock()
	n := 0
	for _, off := range offsets {
		if off < 0 || gp.isSettled(off) || gp.limbo[off] {
			continue
		}
		gp.takePending(off)
		gp.settleLocked(off)
		n++
	}
	gp.flush()
	return n, nil
}

// IsSettled reports whether the group has settled an offset.
func (h Group) IsSettled(partition int32, offset int64) bool {
	gp, err := h.g.part(Ref{Partition: partition})
	if err != nil {
		return false
	}
	gp.mu.Lock()
	defer gp.mu.Unlock()
	return gp.isSettled(offset)
}

// SettledBetween counts the settled offsets in [from, to) of a partition.
func (h Group) SettledBetween(partition int32, from, to int64) int64 {
	gp, err := h.g.part(Ref{Partition: partition})
	if err != nil || to <= from {
		return 0
	}
	gp.mu.Lock()
	defer gp.mu.Unlock()
	var n int64
	if gp.floor > from {
		n += min(gp.floor, to) - from
	}
	if lo := max(from, gp.floor); lo < to {
		n += gp.settled.countFrom(lo) - gp.settled.countFrom(to)
	}
	return n
}
