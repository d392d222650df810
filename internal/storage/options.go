package storage

import (
	"errors"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Errors returned by the log. Callers test them with errors.Is.
var (
	// ErrOffsetOutOfRange means a read or start offset lies outside
	// [StartOffset, EndOffset].
	ErrOffsetOutOfRange = errors.New("storage: offset out of range")
	// ErrClosed means the log was closed.
	ErrClosed = errors.New("storage: log closed")
	// ErrCorrupt means stored bytes failed their checksum or do not parse;
	// they are never returned as records.
	ErrCorrupt = errors.New("storage: corrupt data")
	// ErrFailed means a write or fsync failed. The log accepts and
	// acknowledges nothing more; the broker must restart, which recovers
	// the log from what is really on disk.
	ErrFailed = errors.New("storage: disk write or fsync failed; log is read-only until the broker restarts")
	// ErrEmpty means an append carried no records.
	ErrEmpty = errors.New("storage: append has no records")
	// ErrInvalidBatch means a batch given to AppendBatch is malformed.
	ErrInvalidBatch = errors.New("storage: invalid record batch")
)

// SyncMode says when appended data is fsynced.
type SyncMode int

const (
	// SyncAlways fsyncs before Wait returns and before readers see data
	// (group commit). The default.
	SyncAlways SyncMode = iota
	// SyncInterval fsyncs every SyncInterval. Wait returns at once and
	// readers see data as soon as it is written: a crash may lose the last
	// interval of acknowledged appends.
	SyncInterval
	// SyncNever leaves flushing to the operating system (segments are still
	// fsynced when they roll). Weakest: a power loss may lose anything.
	SyncNever
)

// File is the subset of *os.File the log uses, so tests can inject faults.
// Sync must make written data durable (fdatasync is enough).
type File interface {
	io.ReaderAt
	io.WriterAt
	Sync() error
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
	Close() error
}

// allocator is implemented by files that can reserve disk blocks cheaply.
type allocator interface {
	Allocate(size int64) error
}

// Options configure a Log. The zero value is a durable log with 64 MiB
// segments.
type Options struct {
	SegmentBytes       int64 // roll size; 0 = 64 MiB, at most 1 GiB
	IndexIntervalBytes int   // bytes between sparse index entries; 0 = 4096
	Sync               SyncMode
	SyncInterval       time.Duration // for SyncInterval; 0 = 1s
	RetentionAge       time.Duration // 0 = keep forever
	RetentionBytes     int64         // 0 = unlimited
	Now                func() time.Time
	// OnSync is called after every fsync of appended data, with its
	// duration, the bytes it covered and its error. May be nil.
	OnSync func(d time.Duration, bytes int64, err error)
	// OpenFile opens segment, index and meta files (and the directory, for
	// fsyncing it). nil = OpenOSFile.
	OpenFile func(name string, flag int, perm os.FileMode) (File, error)
	// BufferedIO writes segment data through the page cache instead of
	// with O_DIRECT (see direct.go). O_DIRECT is used only in SyncAlways
	// mode, where the file system supports it and OpenFile returns files
	// that can do it.
	BufferedIO bool
	// IdleRelease is the period of a SyncAlways log's idle check: after a
	// whole period without a round its syncer gives back its write buffers
	// (so within two periods of the last append); 0 = 2s. A broker with
	// thousands of queues then holds buffers for the busy ones only.
	IdleRelease time.Duration
	// CommitLog, if set, takes the small rounds of SyncAlways logs under
	// its root (see commitlog.go). It must be opened before them and
	// closed after them.
	CommitLog *CommitLog

	// beforeRound, if set, runs before each group-commit round; the
	// commit log gathers its writers there.
	beforeRound func()
	// staleSpares reuses deleted segment files without zero-filling them:
	// for the commit log, whose replay writes a stale record's bytes back
	// where they already are (recycle.go).
	staleSpares bool
}

const (
	defaultSegmentBytes  = 64 << 20
	maxSegmentBytes      = 1 << 30 // keeps positions within uint32 index fields
	defaultIndexInterval = 4096
	// maxPendingBytes bounds data appended but not yet written, so a
	// producer that does not wait cannot make memory grow without limit.
	maxPendingBytes = 8 << 20
)

func (o Options) withDefaults() Options {
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = defaultSegmentBytes
	}
	o.SegmentBytes = min(o.SegmentBytes, maxSegmentBytes)
	if o.IndexIntervalBytes <= 0 {
		o.IndexIntervalBytes = defaultIndexInterval
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = time.Second
	}
	if o.IdleRelease <= 0 {
		o.IdleRelease = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OpenFile == nil {
		o.OpenFile = OpenOSFile
	}
	return o
}

// OpenOSFile opens a real file whose Sync is fdatasync and which can be
// preallocated with fallocate.
func OpenOSFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &osFile{File: f}, nil
}

// osFile is a segment, index or meta file; direct is the same file opened
// again with O_DIRECT once OpenDirect is called (see direct.go).
type osFile struct {
	*os.File
	direct *os.File
}

// Sync uses fdatasync: segment sizes are fixed by preallocation, so the
// inode metadata that fsync would add is not needed to read the data back.
func (f *osFile) Sync() error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}

// Allocate reserves size bytes and extends the file to it; the new range
// reads as zeros.
func (f *osFile) Allocate(size int64) error {
	for {
		err := unix.Fallocate(int(f.Fd()), 0, 0, size)
		if err != unix.EINTR {
			return err
		}
	}
}

// isNotSupported reports whether fallocate is unavailable on this file
// system, in which case a sparse Truncate is used instead.
func isNotSupported(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS)
}
