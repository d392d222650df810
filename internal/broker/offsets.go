package broker

import "sort"

// CommittedOffset is a cursor group's position on one partition.
type CommittedOffset struct {
	Offset   int64  `json:"offset"`
	Metadata string `json:"metadata,omitempty"`
}

type offsetKey struct {
	Group     string
	Stream    string
	Partition int32
}

type offsetCommit struct {
	Group     string `json:"group"`
	Stream    string `json:"stream"`
	Partition int32  `json:"partition"`
	CommittedOffset
}

// CommitOffset records a cursor group's position (Kafka OffsetCommit). Call
// SyncState before replying to make it durable.
func (b *Broker) CommitOffset(group, streamName string, partition int32, c CommittedOffset) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.streams[streamName]
	if !ok {
		return &NotFoundError{"stream", streamName}
	}
	if partition < 0 || int(partition) >= len(s.partitions()) {
		return ErrNoSuchPartition
	}
	b.offsets[offsetKey{group, streamName, partition}] = c
	b.logCatalog(catalogChange{Op: "commit-offset", Offset: &offsetCommit{group, streamName, partition, c}})
	return nil
}

// DeleteOffset forgets a cursor group's position on one partition (Kafka
// OffsetDelete) and reports whether it had one. Call SyncState before
// replying to make the deletion durable.
func (b *Broker) DeleteOffset(group, streamName string, partition int32) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := offsetKey{group, streamName, partition}
	if _, ok := b.offsets[k]; !ok {
		return false
	}
	delete(b.offsets, k)
	b.logCatalog(catalogChange{Op: "delete-offset", Offset: &offsetCommit{Group: group, Stream: streamName, Partition: partition}})
	return true
}

// CommittedOffset returns a cursor group's position, if it has one.
func (b *Broker) CommittedOffset(group, streamName string, partition int32) (CommittedOffset, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	c, ok := b.offsets[offsetKey{group, streamName, partition}]
	return c, ok
}

// CursorGroups lists the groups that have committed offsets.
func (b *Broker) CursorGroups() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	seen := map[string]bool{}
	for k := range b.offsets {
		seen[k.Group] = true
	}
	out := make([]string, 0, len(seen))
	for g := range seen {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// DeleteCursorGroup forgets every offset a cursor group committed.
func (b *Broker) DeleteCursorGroup(group string) error {
	b.mu.Lock()
	found := false
	for k := range b.offsets {
		if k.Group == group {
			delete(b.offsets, k)
			found = true
		}
	}
	if !found {
		b.mu.Unlock()
		return &NotFoundError{"group", group}
	}
	seq := b.logCatalog(catalogChange{Op: "delete-cursor-group", Offset: &offsetCommit{Group: group}})
	b.mu.Unlock()
	return b.commit(seq)
}
