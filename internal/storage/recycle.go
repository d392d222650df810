package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Segment recycling. A queue's log deletes segments about as fast as it
// fills new ones, and a new segment costs the flusher twice: fallocate
// leaves unwritten extents, whose first write makes fdatasync commit a
// journal transaction, and zeroAhead, which avoids that, writes every byte
// twice (zeros, then data) on the commit path. Under amqp-peak on the
// project's VM the device wrote 2.4 bytes per byte of messages.
//
// So a log keeps the files of segments it deletes as spares. A spare is
// zero-filled and fsynced off the commit path, on its own goroutine, and
// only then named "<base>.spare"; the next segment is a spare renamed. Its
// blocks are written and read as zeros, so the segment is exactly what
// zeroAhead would have made, without the flusher writing the zeros or
// converting extents.
//
// The zeros matter: a file holding a deleted segment's batches must never
// take data. A torn write there can leave a new batch's base offset in
// front of an old batch's bytes, and since the base offset is outside the
// CRC, recovery would accept that old batch as new (TestCrashInRecycledSegment).
//
// The commit log is the exception (Options.staleSpares): its spares keep
// their old batches. Replay applies a record by writing its bytes at its
// log's segment and position, and a stale record (one whose round was
// checkpointed and trimmed) names bytes that are already there, durable
// and never rewritten, or a segment that is gone (skipped); a new log at
// the same path has a new commit id (skipped). So a stale batch brought
// back by a torn write, even between new ones, changes nothing, and the
// commit log, written at the device's pace, takes each byte once.
//
// Only unread segments are recycled (refs 0 when they left the log): a
// reader still holding the old file must not see its bytes change. Spares
// are bounded per log (maxSpares) and per process (spareBudget), and an idle
// log deletes its spares with its buffers (Options.IdleRelease). Only
// SyncAlways logs keep spares: they have that idle check.

const (
	spareExt        = ".spare"
	spareZeroingExt = ".spare.tmp" // listSegments deletes *.tmp at Open
	// maxSpares is how many spares a log keeps. The broker trims a queue
	// once a second, and at 200 MB/s a queue fills three 64 MiB segments
	// in that time, all deleted together.
	maxSpares = 4
	// spareBudget bounds the bytes all logs of the process hold as spares.
	spareBudget = 1 << 30
)

// spareBytes is what every log of the process holds as spares, zeroing
// included.
var spareBytes atomic.Int64

// spareZeroing limits how many spares are zero-filled at once, so that
// many logs trimmed together do not flood the device.
var spareZeroing = make(chan struct{}, 2)

type spareFile struct {
	path string
	size int64
}

// reserveSpare takes size bytes of the process's spare budget.
func reserveSpare(size int64) bool {
	if spareBytes.Add(size) > spareBudget {
		spareBytes.Add(-size)
		return false
	}
	return true
}

// adoptSpares takes the spares an earlier run left, up to maxSpares and
// the budget, and deletes the rest. A file is only named .spare once its
// zeros are durable, so a spare found here is whole.
func (l *Log) adoptSpares() {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return // recover reports it
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), spareExt) {
			continue
		}
		path := filepath.Join(l.dir, e.Name())
		info, err := e.Info()
		// Whole blocks only, as keepSpare counts them: a commit log spare
		// keeps its old, unaligned size, and O_DIRECT needs the block.
		var size int64
		if err == nil {
			size = alignDown(info.Size())
		}
		keep := err == nil && info.Mode().IsRegular() && l.opts.Sync == SyncAlways &&
			len(l.spares) < maxSpares && size >= directAlign && reserveSpare(size)
		if keep {
			l.spares = append(l.spares, spareFile{path, size})
		} else {
			_ = os.Remove(path)
		}
	}
}

// openSpare renames a spare to path and opens it, returning its size; ok
// is false when the log has none or reusing it fails (the caller creates a
// new file instead).
func (l *Log) openSpare(path string) (f File, size int64, ok bool) {
	l.spareMu.Lock()
	if len(l.spares) == 0 {
		l.spareMu.Unlock()
		return nil, 0, false
	}
	spare := l.spares[len(l.spares)-1]
	l.spares = l.spares[:len(l.spares)-1]
	l.spareMu.Unlock()
	spareBytes.Add(-spare.size)
	// NOREPLACE: as O_EXCL for a new file, never clobber an existing one.
	if err := unix.Renameat2(unix.AT_FDCWD, spare.path, unix.AT_FDCWD, path, unix.RENAME_NOREPLACE); err != nil {
		_ = os.Remove(spare.path)
		return nil, 0, false
	}
	f, err := l.opts.OpenFile(path, os.O_RDWR, 0o644)
	if err != nil {
		_ = os.Remove(path)
		return nil, 0, false
	}
	return f, spare.size, true
}

// discardSegments deletes the files of detached segments. With recycle,
// the log files of the newest unread ones become spares while there is
// room for them.
func (l *Log) discardSegments(segs []*segment, recycle bool) error {
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		exts := []string{".index", ".timeindex", ".log"}
		if recycle && l.keepSpare(s) {
			exts = exts[:2]
		}
		for _, ext := range exts {
			if err := os.Remove(segmentName(l.dir, s.base, ext)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("storage: remove segment: %w", err)
			}
		}
	}
	return nil
}

// keepSpare starts turning s's file into a spare if nothing reads it and
// there is room, and reports whether it did.
func (l *Log) keepSpare(s *segment) bool {
	if l.opts.Sync != SyncAlways || l.idle.Load() {
		return false
	}
	l.mu.Lock()
	unread := s.refs == 0
	size := alignDown(s.size) // finalized: the file's size. Whole blocks only, for O_DIRECT
	l.mu.Unlock()
	if !unread || size < directAlign {
		return false
	}
	l.spareMu.Lock()
	defer l.spareMu.Unlock()
	if l.stopping() || len(l.spares)+l.sparesZeroing >= maxSpares || !reserveSpare(size) {
		return false
	}
	// A commit log spare needs no zeros: it is a spare at once.
	path := strings.TrimSuffix(s.path, ".log") + spareZeroingExt
	if l.opts.staleSpares {
		path = strings.TrimSuffix(s.path, ".log") + spareExt
	}
	if err := os.Rename(s.path, path); err != nil {
		spareBytes.Add(-size)
		return false
	}
	if l.opts.staleSpares {
		l.spares = append(l.spares, spareFile{path, size})
	} else {
		l.startZeroingLocked(path, size, false)
	}
	return true
}

// spareAhead starts a new spare for the segment after s when s is half
// full and the log has none: a log that does not delete segments (a topic,
// or a queue before its first trim) then finds its next segment zeroed off
// the commit path too. The flusher calls it after a round of its own; a
// segment written through the commit log is not zero-filled at all
// (segment.shared), and the commit log, whose spares need no zeros, waits
// for its own.
func (l *Log) spareAhead(s *segment) {
	if l.opts.Sync != SyncAlways || l.opts.staleSpares || s.written < l.opts.SegmentBytes/2 || l.aheadFor == s {
		return
	}
	l.aheadFor = s // one try per segment
	size := alignDown(l.opts.SegmentBytes)
	l.spareMu.Lock()
	defer l.spareMu.Unlock()
	if l.stopping() || len(l.spares)+l.sparesZeroing > 0 || size < directAlign || !reserveSpare(size) {
		return
	}
	l.startZeroingLocked(segmentName(l.dir, s.base, ".ahead"+spareZeroingExt), size, true)
}

// stopping reports whether Close (or a failed Open) has begun: no spare
// work starts then. Checked under spareMu, with spareWork.Add, so that
// Close's waitSpareWork sees every zeroing that started.
func (l *Log) stopping() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// startZeroingLocked runs zeroSpare on tmp, for which size bytes of the
// budget are reserved; the caller holds spareMu.
func (l *Log) startZeroingLocked(tmp string, size int64, create bool) {
	l.sparesZeroing++
	l.spareWork.Add(1)
	go l.zeroSpare(tmp, size, create)
}

// waitSpareWork waits for the zeroing under way once l.stop is closed.
func (l *Log) waitSpareWork() {
	l.spareMu.Lock() // a starter past its stopping check has added itself
	l.spareMu.Unlock()
	l.spareWork.Wait()
}

// zeroSpare zero-fills the first size bytes of tmp (a new file with
// create), cuts it there, fsyncs it and names it a spare. It gives up,
// deleting the file, when the log closes or goes idle meanwhile, or on any
// error.
func (l *Log) zeroSpare(tmp string, size int64, create bool) {
	defer l.spareWork.Done()
	var err error
	select {
	case spareZeroing <- struct{}{}:
		err = l.writeZeros(tmp, size, create)
		<-spareZeroing
	case <-l.stop:
		err = ErrClosed
	}
	l.spareMu.Lock()
	defer l.spareMu.Unlock()
	l.sparesZeroing--
	path := strings.TrimSuffix(tmp, spareZeroingExt) + spareExt
	if err == nil && !l.idle.Load() {
		err = os.Rename(tmp, path)
	} else if err == nil {
		err = errors.New("log idle")
	}
	if err != nil {
		_ = os.Remove(tmp)
		spareBytes.Add(-size)
		return
	}
	l.spares = append(l.spares, spareFile{path, size})
}

func (l *Log) writeZeros(name string, size int64, create bool) error {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE | os.O_EXCL
	}
	f, err := l.opts.OpenFile(name, flag, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if create {
		err = preallocate(f, size)
	} else {
		err = f.Truncate(size)
	}
	if err != nil {
		return err
	}
	write := f.WriteAt
	d, direct := f.(directFile)
	if direct = direct && !l.opts.BufferedIO && !l.directRefused.Load() && d.OpenDirect() == nil; direct {
		defer d.CloseDirect()
		write = d.WriteDirect
	}
	for off := int64(0); off < size; off += zeroAheadBytes {
		select {
		case <-l.stop:
			return ErrClosed
		default:
		}
		chunk := zeroChunk[:min(zeroAheadBytes, size-off)]
		_, err := write(chunk, off)
		if direct && errors.Is(err, unix.EINVAL) { // as writeData falls back
			write, direct = f.WriteAt, false
			_, err = write(chunk, off)
		}
		if err != nil {
			return err
		}
	}
	return f.Sync()
}

// dropSpares deletes the log's spares: an idle log gives back the disk
// they hold (releaseIdleBuffers), and a closed one stops counting them
// against the budget (they stay on disk for the next Open).
func (l *Log) dropSpares(remove bool) {
	l.spareMu.Lock()
	defer l.spareMu.Unlock()
	for _, s := range l.spares {
		if remove {
			_ = os.Remove(s.path)
		}
		spareBytes.Add(-s.size)
	}
	l.spares = nil
}
