package storage

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// A log's side of the commit log (commitlog.go). Only the holder of the
// log's round (l.round) runs these, except checkpointDeferred, which asks
// the syncer to write out and then fsyncs without the round
// (finishCheckpoint).

// viaCommitLog reports whether a round of jobs goes through the commit
// log: one it can take (fitsCommitLog), while other logs' rounds are there
// to share it. A log writing alone does better on its own: the commit log
// would only add two hand-offs between goroutines.
func (l *Log) viaCommitLog(jobs []flushJob, announced bool) bool {
	return l.fitsCommitLog(jobs) && l.opts.CommitLog.shared(announced)
}

// fitsCommitLog reports whether the commit log can take a round of jobs:
// one small round of an O_DIRECT segment that needs nothing but its bytes
// (no seal, no new directory entry).
func (l *Log) fitsCommitLog(jobs []flushJob) bool {
	if l.commitDir == nil || len(jobs) != 1 {
		return false
	}
	j := jobs[0]
	return !j.seal && !j.dirSync && j.seg.direct != nil && len(j.data) > 0 && len(j.data) <= commitRoundMax
}

// persistViaCommitLog stages the round in the ring and returns once the
// commit log holds it durably.
func (l *Log) persistViaCommitLog(j flushJob, announced bool) (int64, error) {
	c := l.opts.CommitLog
	c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	a, err := l.handOn(j, announced, true)
	if err == nil {
		err = a.Wait(context.Background()) // a round ends durable or failed
	}
	if err != nil {
		return 0, fmt.Errorf("commit log: %w", err)
	}
	return int64(len(j.data)), nil
}

// handOn stages the round in the ring and appends it to the commit log,
// asking the commit log's syncer for a round if kick is set.
func (l *Log) handOn(j flushJob, announced, kick bool) (Appended, error) {
	c := l.opts.CommitLog
	if announced {
		defer c.arrived()
	}
	if l.commitID == 0 { // a log from before the commit log
		if err := l.createCommitID(true); err != nil {
			return Appended{}, err
		}
	}
	if err := l.stage(j.seg, j.data, j.pos); err != nil {
		return Appended{}, err
	}
	a, key, err := c.append(l, j.seg.base, j.pos, j.data, l.commitKeyBuf, kick)
	l.commitKeyBuf = key
	return a, err
}

// stagedRoundsPerWriteOut sizes the ring of a log whose rounds go through
// the commit log: as for rounds that many times larger, so that the ring
// holds sixteen rounds or more and a write-out (at a quarter or half of
// it, pickWriteOuts) carries four to eight. Each write-out is a device
// write of its own, with its partial last block written again by the next
// one, that the commit-log round running beside it waits for; with a ring
// sized for the round itself, a Kafka produce to sixteen partitions wrote
// out four of them in almost every commit-log round. Eight rounds' worth
// measured no better and cost 1000 queues 130 MiB more memory.
const stagedRoundsPerWriteOut = 4

// stage puts data, at pos of s, in the ring without writing it to the
// file. Deferred bytes already there are written out first when the ring
// must move to another segment, grow, or would wrap over them. If that
// write-out found the file system refusing O_DIRECT writes to s
// (writeOutBuffered), data follows them through the page cache at once.
func (l *Log) stage(s *segment, data []byte, pos int64) error {
	r := &l.ring
	end := pos + int64(len(data))
	if err := l.ringFor(s, pos, len(data)*stagedRoundsPerWriteOut); err != nil {
		return err
	}
	size := int64(len(r.buf))
	if alignUp(end)-alignDown(r.disk) > size {
		if err := l.writeOut(); err != nil {
			return err
		}
	}
	if s.direct == nil {
		r.drop() // reset for s after the fallback; s is written without it
		if err := l.writeData(s, data, pos); err != nil {
			return err
		}
		l.wroteOut(s)
		return nil
	}
	r.mu.Lock()
	r.from = max(r.from, alignUp(end)-size) // never past disk: checked above
	r.mu.Unlock()
	r.put(pos, data)
	r.zero(end, alignUp(end))
	r.mu.Lock()
	r.to = end
	r.mu.Unlock()
	return nil
}

// writeOut writes the ring's deferred bytes to their segment with O_DIRECT
// and no fsync: the commit log holds them until a checkpoint fsyncs.
func (l *Log) writeOut() error {
	r := &l.ring
	if r.seg == nil || r.disk >= r.to {
		return nil
	}
	s := r.seg
	start, stop := alignDown(r.disk), alignUp(r.to)
	if err := l.growAllocation(s, stop); err != nil {
		return err
	}
	err := r.spans(start, stop, func(b []byte, at int64) error {
		_, err := s.direct.WriteDirect(b, at)
		return err
	})
	if errors.Is(err, unix.EINVAL) {
		return l.writeOutBuffered()
	} else if err != nil {
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	l.wroteOut(s)
	return nil
}

// wroteOut notes that the ring's deferred bytes of s are in its file, not
// yet fsynced. It does not zero-fill ahead as a direct round does: the file
// is fsynced once a checkpoint, not every round, so the blocks need not be
// written beforehand, and zeroing them would double the bytes the device
// takes (a direct round that follows zero-fills from its own end).
func (l *Log) wroteOut(s *segment) {
	l.ring.disk = l.ring.to
	if !slices.Contains(l.unsyncedSegs, s) {
		l.unsyncedSegs = append(l.unsyncedSegs, s)
	}
}

// writeOutBuffered writes the deferred bytes through the page cache where
// the file system refuses O_DIRECT writes (as writeData falls back): here
// and in every later segment. The ring is dropped, as later rounds of the
// segment are written without it.
func (l *Log) writeOutBuffered() error {
	r := &l.ring
	s := r.seg
	l.directRefused.Store(true)
	_ = s.direct.CloseDirect()
	s.direct = nil
	if err := r.spans(r.disk, r.to, func(b []byte, at int64) error {
		_, err := s.file.WriteAt(b, at)
		return err
	}); err != nil {
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	l.wroteOut(s)
	r.drop()
	return nil
}

// writeOutEarly writes the deferred bytes out once they fill half the
// ring. It runs just after a round is acknowledged, while the writers that
// round released prepare their next appends, so the write is rarely in a
// round's way; stage writes out only what the ring cannot hold at all.
func (l *Log) writeOutEarly() error {
	if !l.writeOutDue() {
		return nil
	}
	return l.writeOutOrFail()
}

// writeOutOrFail writes the deferred bytes out and fails the log if that
// fails: the rounds that put them in the ring are durable in the commit log
// already, and only a restart's replay can write them now.
func (l *Log) writeOutOrFail() error {
	if err := l.writeOut(); err != nil {
		l.fail(err)
		return err
	}
	return nil
}

// writeOutDue reports whether the deferred bytes fill half the ring.
func (l *Log) writeOutDue() bool { return l.deferredFill() >= 0.5 }

// deferredFill is the share of the ring the deferred bytes fill.
func (l *Log) deferredFill() float64 {
	r := &l.ring
	if r.seg == nil {
		return 0
	}
	return float64(r.to-r.disk) / float64(len(r.buf))
}

// takeDeferred writes out the deferred bytes and hands over, pinned (refs)
// so that retention cannot close their files, the segments that got
// commit-log bytes since the last time and still need an fsync. The round's
// holder runs it; the fsyncs may then run without the round.
func (l *Log) takeDeferred() ([]*segment, error) {
	if err := l.writeOut(); err != nil {
		return nil, err
	}
	var segs []*segment
	l.mu.Lock()
	for _, s := range l.unsyncedSegs {
		if s.finalized || s.retired { // fsynced when sealed
			continue
		}
		s.refs++
		segs = append(segs, s)
	}
	l.mu.Unlock()
	clear(l.unsyncedSegs)
	l.unsyncedSegs = l.unsyncedSegs[:0]
	return segs, nil
}

func syncSegments(segs []*segment) error {
	for _, s := range segs {
		if err := s.file.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", s.path, err)
		}
	}
	return nil
}

func (l *Log) releaseSegments(segs []*segment) {
	l.mu.Lock()
	for _, s := range segs {
		l.releaseLocked(s)
	}
	l.mu.Unlock()
}

// deferredSync is serveCheckpoint's answer: the segments to fsync, or why
// there are none. It comes with deferredSyncing taken, which
// finishCheckpoint gives back once the fsyncs are done.
type deferredSync struct {
	segs []*segment
	err  error
}

// serveCheckpoint does the part of making the deferred bytes durable that
// needs the log's round: write them out and hand over the segments to
// fsync (finishCheckpoint). For checkpointDeferred the syncer runs it and
// the fsyncs, which take by far the longest, run after the round is
// released, so the log's new rounds go on meanwhile; they are durable in
// the commit log, past the records the checkpoint drops. Close runs both
// halves itself.
//
// A failed log answers with its failure: whatever failed (a round's fsync
// of the segment the deferred bytes went to, or a checkpoint's), a later
// fsync may succeed although the bytes are lost, so the log never reports
// them durable again and the commit log keeps their records until a
// restart replays them.
func (l *Log) serveCheckpoint() deferredSync {
	l.deferredSyncing <- struct{}{} // after any other checkpoint's fsyncs
	if err := l.failure(); err != nil {
		return deferredSync{err: err}
	}
	segs, err := l.takeDeferred()
	if err != nil {
		l.fail(err)
	}
	return deferredSync{segs: segs, err: err}
}

// checkpointDeferred makes the log's deferred bytes durable: the syncer
// writes them out (serveCheckpoint) and this fsyncs their segments. A log
// that is closing does the same in Close; this waits for that instead,
// and fails if Close could not, unless the log has been deleted since
// (replay skips its records: their commit id is gone or another).
func (l *Log) checkpointDeferred() error {
	reply := make(chan deferredSync, 1)
	select {
	case l.checkpoints <- reply:
		return l.finishCheckpoint(<-reply) // the syncer answers every request it takes
	case <-l.closeDone:
	}
	if l.unsaved != nil {
		if id, err := readCommitID(l.dir); err != nil || id != 0 && id == l.commitID {
			return l.unsaved // replay needs the records (or refuses an unreadable id)
		}
	}
	l.opts.CommitLog.unregister(l)
	return nil
}

// finishCheckpoint fsyncs what serveCheckpoint handed over and gives back
// deferredSyncing. A failed fsync fails the log, which then reports no
// deferred bytes durable (serveCheckpoint, Close): the segments have left
// unsyncedSegs, and a later fsync of them would prove nothing.
func (l *Log) finishCheckpoint(d deferredSync) error {
	defer func() { <-l.deferredSyncing }()
	err := d.err
	if err == nil {
		if err = syncSegments(d.segs); err != nil {
			l.fail(err)
		}
	}
	l.releaseSegments(d.segs)
	return err
}

// createCommitID gives the log the id its commit log records carry, before
// its first such record; durably unless the caller fsyncs the directory.
func (l *Log) createCommitID(syncDir bool) error {
	var b [12]byte
	for binary.BigEndian.Uint64(b[:8]) == 0 {
		if _, err := rand.Read(b[:8]); err != nil {
			return err
		}
	}
	binary.BigEndian.PutUint32(b[8:], crc32.Checksum(b[:8], castagnoli))
	if err := l.writeFileAtomic(filepath.Join(l.dir, commitIDName), b[:], syncDir); err != nil {
		return err
	}
	l.commitID = binary.BigEndian.Uint64(b[:8])
	return nil
}
