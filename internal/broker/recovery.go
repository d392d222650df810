package broker

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gannet-mq/gannet/internal/broker/routing"
	"github.com/gannet-mq/gannet/internal/storage"
)

// recover replays the state journal and reopens every stream.
func (b *Broker) recover() error {
	// The commit log replays into every log's files, so it opens first.
	commitLog, err := storage.OpenCommitLog(filepath.Join(b.opts.DataDir, "commitlog"), b.opts.DataDir, b.storageOptions())
	if err != nil {
		return fmt.Errorf("broker: opening commit log: %w", err)
	}
	b.commitLog = commitLog
	stateOpts := b.storageOptions()
	stateOpts.Sync = storage.SyncAlways // state changes are always group-committed
	stateOpts.SegmentBytes = 16 << 20
	state, err := storage.Open(filepath.Join(b.opts.DataDir, "state"), stateOpts)
	if err != nil {
		b.commitLog.Close()
		return fmt.Errorf("broker: opening state journal: %w", err)
	}
	b.state = state
	cat := newCatalogState()
	if err := replayJournal(state, cat.apply); err != nil {
		state.Close()
		b.commitLog.Close()
		return err
	}
	b.journal = newJournal(state)
	b.nextGroup = cat.NextGroup

	var dropped []string
	for name, cfg := range cat.Streams {
		if !cfg.Durable || cfg.Owner != "" {
			dropped = append(dropped, name)
			continue
		}
		s, err := b.openStream(name, cfg)
		if err != nil {
			b.abortRecovery()
			return err
		}
		b.streams[name] = s
	}
	for _, name := range dropped {
		os.RemoveAll(streamDir(b.opts.DataDir, name))
		b.logCatalog(catalogChange{Op: "delete-stream", Stream: name})
	}
	b.removeOrphanDirs()

	for _, e := range cat.Exchanges {
		kind, err := routing.ParseKind(e.Kind)
		if err != nil {
			continue
		}
		if b.routes.DeclareExchange(routing.Exchange{Name: e.Name, Kind: kind, Alternate: e.Alternate}) == nil {
			b.exchanges[e.Name] = e
		}
	}
	for _, bc := range cat.Bindings {
		if b.checkBindingEnds(bc) == nil {
			b.routes.Bind(bc.Exchange, bc.routing())
		}
	}
	for _, o := range cat.Offsets {
		if _, ok := b.streams[o.Stream]; ok {
			b.offsets[offsetKey{o.Group, o.Stream, o.Partition}] = o.CommittedOffset
		}
	}
	now := b.now()
	for _, decl := range cat.Groups {
		s, ok := b.streams[decl.Stream]
		if !ok {
			continue
		}
		g := b.attachGroup(s, decl)
		if decl.Name == "" && s.config().Kind == KindQueue {
			s.own = g
		}
		for _, gp := range g.partsSnapshot() {
			if st := cat.groupState[decl.ID][gp.p.index]; st != nil {
				gp.restore(st, now)
			} else {
				gp.restore(&groupPartSnapshot{Floor: gp.floor, Next: gp.next}, now)
			}
		}
	}
	for _, s := range b.streams {
		b.rebuildDedup(s, now)
		b.armExpiry(s)
		if err := s.trackQueueBytes(); err != nil {
			b.abortRecovery()
			return fmt.Errorf("broker: counting the bytes of queue %q: %w", s.name, err)
		}
	}
	if err := b.checkpoint(); err != nil {
		b.abortRecovery() // the logs and the commit log's checkpointer would leak
		return err
	}
	return nil
}

func (b *Broker) abortRecovery() {
	for _, s := range b.streams {
		s.closeLogs()
	}
	b.journal.close()
	b.state.Close()
	b.commitLog.Close()
}

// removeOrphanDirs deletes stream directories the catalog does not know: a
// declaration that never reached the journal, or a delete that did.
func (b *Broker) removeOrphanDirs() {
	root := filepath.Join(b.opts.DataDir, "streams")
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		name, err := hex.DecodeString(e.Name())
		if err != nil {
			continue
		}
		if _, ok := b.streams[string(name)]; !ok {
			os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}

// restore rebuilds a group partition from its replayed snapshot. Deliveries
// bound to a connection (not persistent, no deadline) come back as ready,
// with their delivery count kept.
func (gp *groupPart) restore(st *groupPartSnapshot, now time.Time) {
	gp.mu.Lock()
	defer gp.mu.Unlock()
	if st.Floor >= 0 {
		gp.floor = st.Floor
	}
	if start := gp.p.log.StartOffset(); gp.floor < start && gp.g.stream.own == gp.g {
		gp.floor = start // a queue's records below the log start were settled
	}
	gp.settled = st.Settled.clone()
	gp.floor = gp.settled.advance(gp.floor)
	if st.Next > gp.next {
		gp.next = st.Next
	}
	if gp.next < gp.floor {
		gp.next = gp.floor
	}
	if end := gp.p.log.EndOffset(); gp.next > end {
		gp.next = end
	}
	for off, c := range st.Counts {
		gp.counts[off] = c
	}
	for off, p := range st.Pending {
		if gp.isSettled(off) {
			continue
		}
		if !p.Persistent && p.Deadline == 0 {
			gp.counts[off] = p.Count
			continue
		}
		d := &Delivery{Partition: gp.p.index, Offset: off, Consumer: p.Consumer, Count: int(p.Count),
			LastDelivered: time.UnixMilli(p.DeliveredAt), Persistent: p.Persistent}
		if p.Deadline != 0 {
			d.Deadline = time.UnixMilli(p.Deadline)
			gp.leases.push(d.Deadline, d.Offset)
		}
		gp.pending[off] = d
	}
	for off, nb := range st.Delayed {
		if gp.pending[off] == nil && !gp.isSettled(off) {
			gp.queued[off] = true
			gp.delayed.push(time.UnixMilli(nb), off)
		}
	}
	gp.settled.forEachGap(gp.floor, gp.next, func(off int64) bool {
		if gp.pending[off] == nil && !gp.queued[off] {
			gp.queued[off] = true
			gp.ready.push(off)
		}
		return true
	})
	// Keyed deliveries still pending keep their keys held.
	if gp.g.config().OrderByKey {
		for off, d := range gp.pending {
			if rec, buf, ok, _ := gp.p.readOne(off, gp.readBuf); ok && rec.Key != nil {
				d.key, d.keyed = string(rec.Key), true
				gp.held[d.key]++
				gp.readBuf = buf
			}
		}
	}
	gp.armNextTimerLocked()
}

// rebuildDedup refills a stream's dedup window from the records it still
// holds inside the window, so dedup survives a restart.
func (b *Broker) rebuildDedup(s *stream, now time.Time) {
	if s.dedup == nil {
		return
	}
	from := now.Add(-s.config().DedupWindow).UnixMilli()
	for _, p := range s.partitions() {
		off, err := p.log.OffsetForTime(from)
		if err != nil {
			continue
		}
		for off < p.log.EndOffset() {
			recs, err := p.log.ReadRecords(off, 1<<20, nil)
			if err != nil || len(recs) == 0 {
				break
			}
			for _, r := range recs {
				m := Message{Headers: r.Headers}
				if id, ok := m.HeaderValue(HeaderMessageID); ok && len(id) > 0 {
					s.dedup.firstSeen(string(id), time.UnixMilli(r.Timestamp))
				}
				off = r.Offset + 1
			}
		}
	}
}

// checkpoint writes a snapshot of the catalog and of every group, then lets
// the journal drop everything before the checkpoint began.
func (b *Broker) checkpoint() error {
	j := b.journal
	// The checkpoint begins at the next journal offset. Records still being
	// flushed are counted in neither EndOffset nor queued, which only moves
	// start lower: replaying a little more is safe, a little less is not.
	j.mu.Lock()
	start := b.state.EndOffset() + int64(len(j.queued))
	j.bytesSinceSnapshot = 0
	j.mu.Unlock()

	b.mu.RLock()
	snap := b.catalogSnapshotLocked()
	v, err := json.Marshal(snap)
	if err != nil {
		b.mu.RUnlock()
		return err
	}
	j.add(kindCatalogSnap, v)
	var groups []*group
	for _, s := range b.streams {
		groups = append(groups, s.groupList()...)
	}
	b.mu.RUnlock()
	for _, g := range groups {
		for _, gp := range g.partsSnapshot() {
			gp.mu.Lock()
			v, err := json.Marshal(gp.snapshotLocked())
			if err == nil {
				gp.flush()
				j.add(kindGroupSnap, v)
			}
			gp.mu.Unlock()
		}
	}
	if err := j.sync(context.Background()); err != nil {
		return err
	}
	return b.state.SetStartOffset(start)
}

// checkpointIfDue checkpoints once the journal has grown enough since the last one.
func (b *Broker) checkpointIfDue() error {
	b.journal.mu.Lock()
	due := b.journal.bytesSinceSnapshot > 32<<20
	b.journal.mu.Unlock()
	if !due {
		return nil
	}
	return b.checkpoint()
}
