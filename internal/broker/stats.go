package broker

// Stats is a point-in-time snapshot for metrics and the admin API.
type Stats struct {
	Streams   []StreamStats
	DiskBytes int64 // bytes used by every log, the state journal included
}

// StreamStats describes one stream (a queue or a topic).
type StreamStats struct {
	Name       string
	Kind       StreamKind
	Partitions int
	Records    int64 // records retained on disk
	Bytes      int64 // bytes retained on disk
	EndOffsets []int64
	Groups     []GroupStats
}

// GroupStats describes one group reading a stream.
type GroupStats struct {
	Name      string
	Kind      GroupKind
	Consumers int
	Backlog   int64 // records not yet settled (shared) or not yet committed (cursor)
	InFlight  int64 // delivered and not settled (shared groups)
	Lag       int64 // end offset minus the group's position, summed over partitions
}

// Stats returns a snapshot for metrics.
func (b *Broker) Stats() Stats {
	b.mu.RLock()
	streams := make([]*stream, 0, len(b.streams))
	for _, s := range b.streams {
		streams = append(streams, s)
	}
	offsets := make(map[offsetKey]CommittedOffset, len(b.offsets))
	for k, v := range b.offsets {
		offsets[k] = v
	}
	b.mu.RUnlock()

	var st Stats
	if b.state != nil {
		st.DiskBytes = b.state.Stats().SizeBytes
	}
	for _, s := range streams {
		parts := s.partitions()
		ss := StreamStats{Name: s.name, Kind: s.config().Kind, Partitions: len(parts)}
		for _, p := range parts {
			ls := p.log.Stats()
			ss.Records += ls.EndOffset - ls.StartOffset
			ss.Bytes += ls.SizeBytes
			ss.EndOffsets = append(ss.EndOffsets, ls.EndOffset)
		}
		st.DiskBytes += ss.Bytes
		for _, g := range s.groupList() {
			if isInternalGroup(g.name) {
				continue
			}
			gs := GroupStats{Name: g.name, Kind: GroupShared, Consumers: g.consumerCount()}
			for _, gp := range g.partsSnapshot() {
				gp.mu.Lock()
				gs.Backlog += gp.backlogLocked(gp.p.log.EndOffset())
				gs.InFlight += int64(len(gp.pending))
				gs.Lag += gp.p.log.EndOffset() - gp.next
				gp.mu.Unlock()
			}
			ss.Groups = append(ss.Groups, gs)
		}
		cursor := map[string]*GroupStats{}
		for k, v := range offsets {
			if k.Stream != s.name || int(k.Partition) >= len(parts) {
				continue
			}
			gs := cursor[k.Group]
			if gs == nil {
				gs = &GroupStats{Name: k.Group, Kind: GroupCursor}
				cursor[k.Group] = gs
			}
			if lag := parts[k.Partition].log.EndOffset() - v.Offset; lag > 0 {
				gs.Lag += lag
				gs.Backlog += lag
			}
		}
		for _, gs := range cursor {
			ss.Groups = append(ss.Groups, *gs)
		}
		st.Streams = append(st.Streams, ss)
	}
	return st
}
