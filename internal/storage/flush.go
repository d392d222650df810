package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// flushJob is one segment's share of a flush: bytes to write at pos, and
// what else the segment needs once they are written.
type flushJob struct {
	seg     *segment
	data    []byte
	pos     int64
	end     int64 // pos + len(data)
	seal    bool
	dirSync bool
}

// takeDirtyLocked moves every dirty segment's pending bytes into jobs.
func (l *Log) takeDirtyLocked(jobs []flushJob) []flushJob {
	for _, s := range l.dirty {
		jobs = append(jobs, flushJob{seg: s, data: s.pending, pos: s.written, end: s.written + int64(len(s.pending)), seal: s.sealed, dirSync: s.needDirSync})
		s.written += int64(len(s.pending))
		if s.sealed { // no more appends: it needs no buffers again
			s.pending, s.spare = nil, nil
		} else {
			s.pending, s.spare = s.spare[:0], nil
		}
		s.needDirSync, s.inDirty = false, false
	}
	clear(l.dirty)
	l.dirty = l.dirty[:0]
	l.pendingBytes = 0
	l.space.Broadcast()
	return jobs
}

// returnBuffersLocked hands the written buffers back for reuse, except to
// sealed segments.
func returnBuffersLocked(jobs []flushJob) {
	for i := range jobs {
		if s := jobs[i].seg; s.spare == nil && !s.sealed {
			s.spare = jobs[i].data[:0]
		}
		jobs[i].data = nil
	}
}

// persist writes jobs to their files. With syncData every written file is
// fsynced; sealed segments are always trimmed to their size, fsynced and
// given index files, and new files get their directory entry fsynced.
func (l *Log) persist(jobs []flushJob, syncData bool) (int64, error) {
	// Bytes the commit log holds go to their file first: a sealed segment
	// is trimmed and fsynced below even when this round brings it no data.
	if err := l.writeOut(); err != nil {
		return 0, err
	}
	var written int64
	for _, j := range jobs {
		if len(j.data) > 0 {
			if err := l.writeData(j.seg, j.data, j.pos); err != nil {
				return written, err
			}
			written += int64(len(j.data))
			if !j.seal && !j.seg.shared {
				if err := l.zeroAhead(j.seg, j.end); err != nil {
					return written, err
				}
				l.spareAhead(j.seg)
			}
		}
		// A sealed segment is fsynced by finalize, after its trim.
		if syncData && len(j.data) > 0 && !j.seal {
			if err := j.seg.file.Sync(); err != nil {
				return written, fmt.Errorf("fsync %s: %w", j.seg.path, err)
			}
		}
		if j.dirSync {
			if err := l.syncDir(); err != nil {
				return written, err
			}
		}
		if j.seal {
			if err := l.finalize(j.seg, j.end); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// writeData writes data at pos of s, with O_DIRECT when s allows it.
func (l *Log) writeData(s *segment, data []byte, pos int64) error {
	if s.direct != nil {
		err := l.writeDirect(s, data, pos)
		if !errors.Is(err, unix.EINVAL) {
			return err
		}
		// The file system took O_DIRECT at open but refuses these
		// writes (a larger block size): go on through the page cache,
		// here and in every later segment.
		l.directRefused.Store(true)
		_ = s.direct.CloseDirect()
		s.direct = nil
	}
	if err := l.growAllocation(s, pos+int64(len(data))); err != nil {
		return err
	}
	if _, err := s.file.WriteAt(data, pos); err != nil {
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	return nil
}

// finalize trims a sealed, fsynced segment to its data and writes its index
// files. Only then is it trusted without a rescan on the next Open. It is
// never written again, so its O_DIRECT descriptor is closed.
func (l *Log) finalize(s *segment, size int64) error {
	if err := s.file.Truncate(size); err != nil {
		return fmt.Errorf("trim %s: %w", s.path, err)
	}
	if err := s.file.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", s.path, err)
	}
	if s.direct != nil {
		_ = s.direct.CloseDirect() // its data is durable already
		s.direct = nil
	}
	offsets, times := encodeIndexes(s.entries) // sealed: entries no longer change
	if err := l.writeFileAtomic(segmentName(l.dir, s.base, ".index"), offsets, false); err != nil {
		return err
	}
	return l.writeFileAtomic(segmentName(l.dir, s.base, ".timeindex"), times, false)
}

// writeFileAtomic writes data to name through a fsynced temporary file and
// a rename, so name holds either its old content or all of data.
func (l *Log) writeFileAtomic(name string, data []byte, syncDir bool) error {
	tmp := name + ".tmp"
	f, err := l.opts.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	_, err = f.WriteAt(data, 0)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err == nil && syncDir {
		err = l.syncDir()
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(name), err)
	}
	return nil
}

func (l *Log) syncDir() error {
	d, err := l.opts.OpenFile(l.dir, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", l.dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", l.dir, err)
	}
	return nil
}

// runSyncer is the group-commit loop of SyncAlways: while data is pending it
// writes all of it, fsyncs once and releases every covered waiter; appends
// that arrive meanwhile are covered by the next round. It owns the log's
// rounds (l.round) while it works; a Group's caller may own them between.
func (l *Log) runSyncer() {
	defer close(l.syncerDone)
	// The idle check ticks whether or not the syncer ran the rounds: a
	// Group's caller runs them without waking it. A log is idle once a
	// whole period passed without a round.
	idle := time.NewTicker(l.opts.IdleRelease)
	defer idle.Stop()
	seen := l.rounds.Load()
	for {
		select {
		case <-l.kick:
		case <-l.stop:
		case done := <-l.checkpoints:
			l.round.Lock()
			done <- l.serveCheckpoint()
			l.round.Unlock()
			continue
		case <-idle.C:
			if n := l.rounds.Load(); n != seen {
				seen = n
			} else if !l.idle.Load() { // a round since would have cleared it
				l.round.Lock()
				l.roundJobs = nil
				l.releaseIdleBuffers()
				l.round.Unlock()
			}
			continue
		}
		l.round.Lock()
		for {
			select { // a busy log must not keep a checkpoint waiting
			case done := <-l.checkpoints:
				done <- l.serveCheckpoint()
			default:
			}
			if !l.runRound() {
				break
			}
			// Let the appenders just released append again before the
			// next round, so they share one fsync instead of splitting
			// into two alternating cohorts.
			runtime.Gosched()
		}
		l.round.Unlock()
		select {
		case <-l.stop:
			return
		default:
		}
	}
}

// runRound runs one round as the syncer does, gathering first where the
// log asks for it (the commit log), and reports whether there was one.
func (l *Log) runRound() bool {
	if l.opts.beforeRound != nil {
		l.opts.beforeRound()
	}
	return l.syncOnce()
}

// kickSyncer asks the syncer for a round.
func (l *Log) kickSyncer() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// releaseIdleBuffers drops the ring and the active segment's append
// buffers (Options.IdleRelease; sealed segments keep none once written): an
// idle log that wakes up allocates them again, which costs far less than the
// round that follows. The syncer calls it holding the log's round, which
// owns the ring: the next direct write re-reads the partial last block from
// the file (ring.reset), and tail readers read from the file until then.
func (l *Log) releaseIdleBuffers() {
	if err := l.writeOut(); err != nil {
		l.fail(err)
		l.idle.Store(true) // failed: not tried again every period
		return
	}
	l.mu.Lock()
	s := l.segments[len(l.segments)-1]
	s.spare = nil
	if len(s.pending) == 0 {
		s.pending = nil
	}
	l.mu.Unlock()
	l.ring.drop()
	l.idle.Store(true)
	l.dropSpares(true)
}

// round is one round of a log: the jobs taken from its dirty segments, the
// offset that becomes durable with them, and how it went.
type round struct {
	jobs      []flushJob
	target    int64
	announced bool // the log had announced itself to the commit log
	began     time.Time
	via       bool // handed to the commit log
	n         int64
	err       error
}

// syncOnce runs one round of the log's dirty data, if there is any, and
// reports whether there was. The caller owns the round (l.round).
func (l *Log) syncOnce() bool {
	r, ok := l.takeRound()
	if !ok {
		return false
	}
	r.via = l.viaCommitLog(r.jobs, r.announced)
	if r.via {
		r.n, r.err = l.persistViaCommitLog(r.jobs[0], r.announced)
	} else {
		l.persistDirect(&r)
	}
	if !l.finishRound(r) {
		return false
	}
	// A Group writes out beside its commit-log round instead (pickWriteOuts).
	return !r.via || l.writeOutEarly() == nil
}

// takeRound takes the log's dirty data for a round; ok is false when there
// is none (or the log has failed).
func (l *Log) takeRound() (r round, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.dirty) == 0 || l.failErr != nil {
		return r, false
	}
	l.roundJobs = l.takeDirtyLocked(l.roundJobs[:0])
	r.jobs, r.target, r.announced = l.roundJobs, l.next, l.announced
	l.announced = false
	r.began = time.Now()
	return r, true
}

// persistDirect writes and fsyncs r's jobs to the log's own files.
func (l *Log) persistDirect(r *round) {
	if r.announced {
		l.opts.CommitLog.arrived()
	}
	r.n, r.err = l.persist(r.jobs, true)
}

// finishRound publishes a persisted round, or fails the log with its
// error, and reports whether it succeeded.
func (l *Log) finishRound(r round) bool {
	took := time.Since(r.began)
	l.mu.Lock()
	returnBuffersLocked(r.jobs)
	if r.err != nil {
		l.failLocked(r.err)
	} else {
		for _, j := range r.jobs {
			j.seg.visible = j.end
			j.seg.finalized = j.seal
			j.seg.shared = j.seg.shared || r.via
		}
		if !r.via { // the commit log counts its own
			l.stats.syncs++
		}
		l.publishLocked(r.target)
	}
	l.mu.Unlock()
	if l.opts.OnSync != nil && (!r.via || r.err != nil) {
		l.opts.OnSync(took, r.n, r.err)
	}
	l.rounds.Add(1) // not idle (runSyncer)
	if l.idle.Load() {
		l.idle.Store(false)
	}
	return r.err == nil
}

// flushLocked writes pending data at once (SyncInterval, SyncNever), so
// readers see it as soon as Append returns.
func (l *Log) flushLocked() error {
	l.flushJobs = l.takeDirtyLocked(l.flushJobs[:0])
	n, err := l.persist(l.flushJobs, false)
	returnBuffersLocked(l.flushJobs)
	if err != nil {
		l.failLocked(err)
		return l.failErr
	}
	for _, j := range l.flushJobs {
		j.seg.visible = j.end
		j.seg.finalized = j.seal
	}
	l.unsynced += n
	l.publishLocked(l.next)
	return nil
}

// runIntervalSyncer fsyncs the active segment every SyncInterval.
func (l *Log) runIntervalSyncer() {
	defer close(l.syncerDone)
	t := time.NewTicker(l.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.syncActive()
		case <-l.stop:
			return
		}
	}
}

// syncActive fsyncs the active segment if anything was written since the
// last fsync.
func (l *Log) syncActive() {
	l.mu.Lock()
	if l.unsynced == 0 || l.failErr != nil {
		l.mu.Unlock()
		return
	}
	s := l.segments[len(l.segments)-1]
	s.refs++
	n := l.unsynced
	l.unsynced = 0
	l.mu.Unlock()
	began := time.Now()
	err := s.file.Sync()
	took := time.Since(began)
	l.mu.Lock()
	l.releaseLocked(s)
	if err != nil {
		l.failLocked(fmt.Errorf("fsync %s: %w", s.path, err))
	} else {
		l.stats.syncs++
	}
	l.mu.Unlock()
	if l.opts.OnSync != nil {
		l.opts.OnSync(took, n, err)
	}
}

// publishLocked makes offsets below end visible and wakes waiters.
func (l *Log) publishLocked(end int64) {
	l.visibleEnd.Store(end)
	if l.opts.Sync == SyncAlways { // only SyncAlways has waiters
		fresh := make(chan struct{})
		close(*l.synced.Swap(&fresh))
	}
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}

// failLocked puts the log in its failed state: nothing more is written or
// acknowledged, and every waiter is woken to see ErrFailed.
func (l *Log) failLocked(cause error) {
	if l.failErr != nil {
		return
	}
	l.failErr = fmt.Errorf("%w: %w", ErrFailed, cause)
	l.failed.Store(true)
	if l.announced { // its round will never be handed on
		l.announced = false
		l.opts.CommitLog.arrived()
	}
	fresh := make(chan struct{})
	close(*l.synced.Swap(&fresh))
	l.space.Broadcast()
}

// fail is failLocked for a caller not holding mu.
func (l *Log) fail(cause error) {
	l.mu.Lock()
	l.failLocked(cause)
	l.mu.Unlock()
}

func (l *Log) failure() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failErr
}
