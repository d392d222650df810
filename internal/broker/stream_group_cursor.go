package broker

// MoveNext sets where a shared group reads new records from on one
// partition, like SetNext, and also settles every record below offset that
// is not pending, so the group never hands those out: the records up to a
// Redis XGROUP CREATE or SETID id count as read, also after a restart.
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
	} else if offset < gp.floor {
		gp.floor = offset
		gp.settled = offsetSet{}
	}
	gp.next = offset
	gp.lookahead = nil
	gp.logOp(deltaOp{op: opCursor, offset: offset})
	gp.flush()
	h.g.signal()
	return nil
}
