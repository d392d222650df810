package storage

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gannet-mq/gannet/internal/batch"
)

// Log is the append-only log of one partition. Appends are serialised by a
// mutex; reads run concurrently with appends and with each other.
type Log struct {
	dir  string
	opts Options

	mu           sync.Mutex
	space        sync.Cond // signalled when pending bytes drain or the log fails or closes
	segments     []*segment
	next         int64 // next offset to assign
	start        int64
	closed       bool
	failErr      error
	dirty        []*segment
	pendingBytes int
	unsynced     int64 // bytes written but not fsynced (SyncInterval)
	changed      chan struct{}
	flushJobs    []flushJob
	stats        struct{ appends, records, bytes, syncs int64 }

	visibleEnd atomic.Int64
	failed     atomic.Bool
	synced     atomic.Pointer[chan struct{}] // closed and replaced after each fsync

	kick       chan struct{}
	stop       chan struct{}
	syncerDone chan struct{}
	// round is held by whoever runs the log's rounds: the syncer, a
	// Group's caller (group.go) or Close. The holder owns roundJobs, the
	// ring's writes and the commit log fields below.
	round     sync.Mutex
	roundJobs []flushJob
	// writeOutDone is closed when a write-out a Group left running, holding
	// the round, is done (Group.writeOutAside); nil when there is none.
	writeOutDone atomic.Pointer[chan struct{}]
	// rounds counts finished rounds, whoever ran them: the syncer's idle
	// check looks at it, since a Group's rounds do not wake the syncer.
	rounds   atomic.Uint64
	metaMu   sync.Mutex // serialises meta file writes
	decoders sync.Pool  // *decoderState
	ring     ring       // written with O_DIRECT from here; tail reads copy from it
	// directRefused is set once the file system refuses an O_DIRECT write;
	// later segments then do not try (set by the flusher, read under mu).
	directRefused atomic.Bool

	// Commit log use (commitlog.go, deferred.go); the round's holder only,
	// except commitDir, set by Open.
	commitDir    []byte // the log's name in commit log records; nil: not used
	announced    bool   // mu: announced to the commit log; its round not yet handed on
	commitID     uint64 // made with the log; 0 for a log from before the commit log until its first such round
	commitKeyBuf []byte // scratch for commit log record keys
	unsyncedSegs []*segment
	aheadFor     *segment               // the segment spareAhead last looked at
	checkpoints  chan chan deferredSync // checkpointDeferred's requests to the syncer
	// deferredSyncing is held (a token in it) from serveCheckpoint until
	// finishCheckpoint has fsynced what it handed over, outside the round
	// for a checkpoint; so Close, which runs both, waits for a
	// checkpoint's fsyncs before its own and before closing files.
	deferredSyncing chan struct{}
	closeDone       chan struct{} // closed when Close has finished

	// Spares (recycle.go): deleted segment files kept for reuse.
	spareMu       sync.Mutex
	spares        []spareFile // spareMu
	sparesZeroing int         // spareMu: spares being zero-filled
	spareWork     sync.WaitGroup
	// idle is set by the syncer's idle check (releaseIdleBuffers) and
	// cleared by the next round: the check releases once per idle spell.
	idle atomic.Bool
	// unsaved is why Close could not make the deferred bytes durable;
	// checkpoints then keep the commit log's records (set before closeDone).
	unsaved error
}

type decoderState struct {
	dec  batch.Decoder
	recs []batch.Record
}

// Stats is a snapshot of a log's counters.
type Stats struct {
	StartOffset     int64
	EndOffset       int64
	Segments        int
	SizeBytes       int64
	Appends         int64 // Append and AppendBatch calls that succeeded
	AppendedRecords int64
	AppendedBytes   int64
	Syncs           int64 // fsyncs of appended data
	Failed          bool
}

// Open opens or creates the log in dir and recovers it: sealed segments are
// checked against their index files (and rescanned if those are missing or
// wrong); the tail segment is rescanned and cut at the first torn, zero or
// corrupt batch.
func Open(dir string, opts Options) (*Log, error) {
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: create %s: %w", dir, err)
	}
	l := &Log{
		dir: dir, opts: opts,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), syncerDone: make(chan struct{}),
		checkpoints: make(chan chan deferredSync), deferredSyncing: make(chan struct{}, 1),
		closeDone: make(chan struct{}),
	}
	l.space.L = &l.mu
	l.decoders.New = func() any { return new(decoderState) }
	fresh := make(chan struct{})
	l.synced.Store(&fresh)
	if c := opts.CommitLog; c != nil && opts.Sync == SyncAlways {
		l.commitDir = c.dirKey(dir)
	}
	l.adoptSpares()
	if err := l.recover(); err != nil {
		l.closeFiles()
		close(l.stop) // a spare recover started stops zero-filling
		l.waitSpareWork()
		l.dropSpares(false)
		return nil, err
	}
	if l.commitDir != nil {
		if l.commitID == 0 {
			l.commitID, _ = readCommitID(dir) // none: made at first use
		}
		opts.CommitLog.register(l)
	}
	switch opts.Sync {
	case SyncAlways:
		go l.runSyncer()
	case SyncInterval:
		go l.runIntervalSyncer()
	default:
		close(l.syncerDone)
	}
	return l, nil
}

func (l *Log) recover() error {
	metaStart, err := l.readMeta()
	if err != nil {
		return err
	}
	bases, err := l.listSegments()
	if err != nil {
		return err
	}
	if len(bases) == 0 {
		bases = []int64{max(metaStart, 0)}
		s, err := l.createSegment(bases[0])
		if err != nil {
			return err
		}
		l.segments = []*segment{s}
		if l.commitDir != nil { // now, durable with the new segment, not in a round
			if err := l.createCommitID(false); err != nil {
				return fmt.Errorf("storage: %w", err)
			}
		}
		if err := l.syncDir(); err != nil {
			return fmt.Errorf("storage: %w", err)
		}
	} else if err := l.loadSegments(bases); err != nil {
		return err
	}
	tail := l.segments[len(l.segments)-1]
	l.next = tail.end
	l.start = min(max(metaStart, l.segments[0].base), l.next)
	l.visibleEnd.Store(l.next)
	victims := l.detachBelowLocked(l.start)
	return l.discardSegments(victims, true)
}

// listSegments returns the base offsets of the segment files, in order, and
// removes leftover temporary files.
func (l *Log) listSegments() ([]int64, error) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("storage: list %s: %w", l.dir, err)
	}
	var bases []int64
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			_ = os.Remove(filepath.Join(l.dir, name))
			continue
		}
		if stem, ok := strings.CutSuffix(name, ".log"); ok && len(stem) == 20 {
			if base, err := strconv.ParseInt(stem, 10, 64); err == nil {
				bases = append(bases, base)
			}
		}
	}
	slices.Sort(bases)
	return bases, nil
}

func (l *Log) loadSegments(bases []int64) error {
	for i, base := range bases {
		f, err := l.opts.OpenFile(segmentName(l.dir, base, ".log"), os.O_RDWR, 0o644)
		if err != nil {
			return fmt.Errorf("storage: open segment: %w", err)
		}
		s := newSegment(l.dir, base, f)
		l.segments = append(l.segments, s)
		info, err := f.Stat()
		if err != nil {
			return fmt.Errorf("storage: stat %s: %w", s.path, err)
		}
		fileSize := info.Size()
		last := i == len(bases)-1
		if !last {
			if entries, err := loadIndexes(s, fileSize, bases[i+1]); err == nil {
				s.entries = entries
				s.maxTS = entries[len(entries)-1].maxTS
				s.size, s.written, s.visible, s.end = fileSize, fileSize, fileSize, bases[i+1]
				s.sealed, s.finalized = true, true
				continue
			}
		}
		res, err := scan(s, fileSize, l.opts.IndexIntervalBytes)
		if err != nil {
			return err
		}
		if !last && res.clean && s.end == bases[i+1] && s.size > 0 {
			// Sealed but not finalized before a crash: its data is whole.
			s.sealed = true
			s.sealIndex()
			if err := l.finalize(s, s.size); err != nil {
				return fmt.Errorf("storage: %w", err)
			}
			s.finalized = true
			continue
		}
		// This is the tail, either really or because the log breaks here;
		// later segments cannot follow a gap and are dropped.
		if err := l.discardSegments(l.closeSegments(bases[i+1:]), false); err != nil {
			return err
		}
		return l.prepareTail(s, res, fileSize)
	}
	return nil
}

// closeSegments makes segment stand-ins for files that are about to be
// deleted without being opened.
func (l *Log) closeSegments(bases []int64) []*segment {
	out := make([]*segment, len(bases))
	for i, b := range bases {
		out[i] = &segment{base: b, path: segmentName(l.dir, b, ".log")}
	}
	return out
}

// prepareTail cuts the tail segment after its last good batch, zero-fills
// what follows by preallocating again, and makes that durable before any new
// append can land next to stale bytes. A clean tail keeps its allocation:
// everything past its data already reads as zeros.
func (l *Log) prepareTail(s *segment, res scanResult, fileSize int64) error {
	s.allocated = fileSize
	s.zeroed = res.validSize
	if !res.clean {
		if err := s.file.Truncate(res.validSize); err != nil {
			return fmt.Errorf("storage: cut torn tail of %s: %w", s.path, err)
		}
		s.allocated = max(l.initialAllocation(), res.validSize)
		if err := preallocate(s.file, s.allocated); err != nil {
			return fmt.Errorf("storage: preallocate %s: %w", s.path, err)
		}
		if err := s.file.Sync(); err != nil {
			return fmt.Errorf("storage: fsync %s: %w", s.path, err)
		}
	}
	_ = os.Remove(segmentName(l.dir, s.base, ".index"))
	_ = os.Remove(segmentName(l.dir, s.base, ".timeindex"))
	l.enableDirect(s)
	return nil
}

// initialAllocation is what a new segment reserves. Segments grow by
// doubling up to SegmentBytes (see growAllocation), so a thousand idle
// queues cost a thousand small files, not a thousand full segments.
func (l *Log) initialAllocation() int64 { return min(l.opts.SegmentBytes, initialSegmentAllocation) }

const initialSegmentAllocation = 1 << 20

// zeroAhead writes zeros just past the data, so that the blocks the next
// appends land in are already written. fallocate leaves "unwritten"
// extents, and on ext4 and XFS the first write into one makes fdatasync
// commit a metadata journal transaction as well as the data: measured here,
// a 64 KiB write plus fdatasync took 300us into fallocated space and 175-235us
// into written space. Zeroing a chunk at a time moves that cost to one sync
// per zeroAheadBytes. Only the flusher calls it, after writing the data up to
// end and before the sync, so zeros never land on data: everything later is
// written by this same goroutine afterwards.
func (l *Log) zeroAhead(s *segment, end int64) error {
	if s.zeroed >= end+zeroAheadBytes/2 || s.zeroed >= l.opts.SegmentBytes {
		return nil
	}
	from := max(s.zeroed, end)
	if s.direct != nil {
		from = max(s.zeroed, alignUp(end)) // the data write padded its last block
	}
	// Whole aligned chunks, at least half a chunk ahead of the data: an
	// idle log stays inside its initial allocation.
	to := min((end+zeroAheadBytes/2+zeroAheadBytes-1)/zeroAheadBytes*zeroAheadBytes, l.opts.SegmentBytes)
	if s.direct != nil {
		to = alignUp(to)
	}
	if to <= from {
		return nil
	}
	if err := l.growAllocation(s, to); err != nil {
		return err
	}
	for from < to {
		n := min(to-from, zeroAheadBytes)
		write := s.file.WriteAt
		if s.direct != nil {
			write = s.direct.WriteDirect
		}
		if _, err := write(zeroChunk[:n], from); err != nil {
			return fmt.Errorf("zero-fill %s: %w", s.path, err)
		}
		from += n
	}
	s.zeroed = to
	return nil
}

const zeroAheadBytes = 1 << 20

// growAllocation reserves room for the segment's bytes up to end before
// they are written: double the allocation until it holds end, capped at
// SegmentBytes but never below end (a batch larger than a segment). Only
// the flusher calls it. The size change costs one inode update in the next
// fdatasync, a handful of times per segment. Doubling whole steps, not
// growing to end, keeps the sizes 1, 2, 4... MiB however rounds fall.
func (l *Log) growAllocation(s *segment, end int64) error {
	if end <= s.allocated {
		return nil
	}
	size := max(s.allocated, l.initialAllocation())
	for size < end && size < l.opts.SegmentBytes {
		size *= 2
	}
	size = max(end, min(l.opts.SegmentBytes, size))
	if err := preallocate(s.file, size); err != nil {
		return fmt.Errorf("preallocate %s: %w", s.path, err)
	}
	s.allocated = size
	return nil
}

func (l *Log) createSegment(base int64) (*segment, error) {
	path := segmentName(l.dir, base, ".log")
	if f, size, ok := l.openSpare(path); ok {
		seg := newSegment(l.dir, base, f)
		// Every block is written already: zeros, or stale batches where
		// those are harmless (recycle.go).
		seg.allocated, seg.zeroed = size, size
		l.enableDirect(seg)
		return seg, nil
	}
	f, err := l.opts.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("storage: create segment: %w", err)
	}
	if err := preallocate(f, l.initialAllocation()); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("storage: preallocate %s: %w", path, err)
	}
	seg := newSegment(l.dir, base, f)
	seg.allocated = l.initialAllocation()
	l.enableDirect(seg)
	return seg, nil
}

// preallocate reserves the segment's blocks up front so appends do not
// change the file size (and fdatasync need not journal the inode).
func preallocate(f File, size int64) error {
	if a, ok := f.(allocator); ok {
		err := a.Allocate(size)
		if err == nil || !errors.Is(err, errors.ErrUnsupported) && !isNotSupported(err) {
			return err
		}
	}
	return f.Truncate(size)
}

// detachBelowLocked removes from the log every segment wholly below off,
// never the active one, and returns them; files close once unread.
func (l *Log) detachBelowLocked(off int64) []*segment {
	i := 0
	for i+1 < len(l.segments) && l.segments[i+1].base <= off && l.segments[i].finalized {
		i++
	}
	victims := slices.Clone(l.segments[:i])
	l.segments = slices.Delete(l.segments, 0, i)
	for _, s := range victims {
		s.retired = true
		if s.refs == 0 && s.file != nil {
			_ = s.file.Close()
		}
	}
	return victims
}

// acquireLocked finds the segment holding offset off and pins its file.
func (l *Log) acquireLocked(off int64) *segment {
	i, found := slices.BinarySearchFunc(l.segments, off, func(s *segment, off int64) int { return cmp.Compare(s.base, off) })
	if !found {
		i--
	}
	s := l.segments[max(i, 0)]
	s.refs++
	return s
}

func (l *Log) releaseLocked(s *segment) {
	s.refs--
	if s.refs == 0 && s.retired {
		_ = s.file.Close()
	}
}

func (l *Log) release(s *segment) {
	l.mu.Lock()
	l.releaseLocked(s)
	l.mu.Unlock()
}

// StartOffset is the first readable offset.
func (l *Log) StartOffset() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.start
}

// EndOffset is the offset the next append will get, as readers see it:
// durable data in SyncAlways mode, written data otherwise.
func (l *Log) EndOffset() int64 { return l.visibleEnd.Load() }

// Changed returns a channel closed the next time EndOffset advances or the
// log closes. Callers re-check EndOffset after obtaining it.
func (l *Log) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed == nil {
		l.changed = make(chan struct{})
		if l.closed {
			close(l.changed)
		}
	}
	return l.changed
}

// Stats returns a snapshot of the log's counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := Stats{
		StartOffset: l.start, EndOffset: l.visibleEnd.Load(), Segments: len(l.segments),
		Appends: l.stats.appends, AppendedRecords: l.stats.records, AppendedBytes: l.stats.bytes,
		Syncs: l.stats.syncs, Failed: l.failErr != nil,
	}
	for _, s := range l.segments {
		st.SizeBytes += s.visible
	}
	return st
}

// Close flushes and fsyncs what was appended, stops the syncer and closes
// the files. Appends waiting for durability are released first.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.closeDone
		return l.failure()
	}
	l.closed = true
	l.space.Broadcast()
	l.mu.Unlock()
	defer close(l.closeDone)

	close(l.stop)
	<-l.syncerDone
	l.waitSpareWork()
	if l.opts.Sync == SyncAlways {
		// A Group's caller may still be running a round.
		l.round.Lock()
		defer l.round.Unlock()
		for l.syncOnce() { // anything appended after the syncer's last round
		}
		if l.commitDir != nil {
			// As a checkpoint does; a failure fails the log.
			if err := l.finishCheckpoint(l.serveCheckpoint()); err != nil {
				// Still registered: the commit log's records are the only
				// durable copy, and checkpoints must keep them.
				l.unsaved = err
			} else {
				l.opts.CommitLog.unregister(l)
			}
		}
	} else {
		l.syncActive()
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	l.closeFilesLocked()
	l.ring.drop()
	l.dropSpares(false)
	return l.failErr
}

func (l *Log) closeFiles() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeFilesLocked()
}

func (l *Log) closeFilesLocked() {
	for _, s := range l.segments {
		s.retired = true
		if s.refs == 0 && s.file != nil {
			_ = s.file.Close()
		}
	}
}

// Remove closes the log and deletes its directory.
func (l *Log) Remove() error {
	err := l.Close()
	if rerr := os.RemoveAll(l.dir); rerr != nil {
		return fmt.Errorf("storage: remove %s: %w", l.dir, rerr)
	}
	if errors.Is(err, ErrFailed) {
		return nil // the data is gone anyway
	}
	return err
}
