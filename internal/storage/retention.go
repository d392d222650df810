package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The meta file holds the durable start offset: int64 big-endian followed
// by the CRC-32C of those 8 bytes. It is replaced atomically.
const metaName = "meta"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// readMeta returns the recorded start offset, or -1 if none is recorded. A
// damaged meta file is ignored: the start then falls back to the first
// segment, which may re-expose settled records but never loses any.
func (l *Log) readMeta() (int64, error) {
	b, err := os.ReadFile(filepath.Join(l.dir, metaName))
	if errors.Is(err, fs.ErrNotExist) {
		return -1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("storage: read meta: %w", err)
	}
	if len(b) != 12 || crc32.Checksum(b[:8], castagnoli) != binary.BigEndian.Uint32(b[8:]) {
		return -1, nil
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

func (l *Log) writeMeta(start int64) error {
	b := binary.BigEndian.AppendUint64(nil, uint64(start))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return l.writeFileAtomic(filepath.Join(l.dir, metaName), b, true)
}

// SetStartOffset durably moves the start of the log to off: records below it
// are no longer readable and segments wholly below it are deleted. Moving
// the start backwards is a no-op; beyond EndOffset is ErrOffsetOutOfRange.
func (l *Log) SetStartOffset(off int64) error {
	l.metaMu.Lock()
	defer l.metaMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	if off <= l.start {
		l.mu.Unlock()
		return nil
	}
	if end := l.visibleEnd.Load(); off > end {
		l.mu.Unlock()
		return fmt.Errorf("%w: start %d beyond end %d", ErrOffsetOutOfRange, off, end)
	}
	l.mu.Unlock()

	if err := l.writeMeta(off); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	l.mu.Lock()
	l.start = max(l.start, off)
	victims := l.detachBelowLocked(off)
	l.mu.Unlock()
	return l.discardSegments(victims, true)
}

// SetRetention changes the limits EnforceRetention applies (a topic's
// retention altered while it is open).
func (l *Log) SetRetention(age time.Duration, bytes int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.opts.RetentionAge, l.opts.RetentionBytes = age, bytes
}

// EnforceRetention deletes the oldest segments while they are older than
// RetentionAge (by their largest timestamp) or the log exceeds
// RetentionBytes without them. The active segment is never deleted.
func (l *Log) EnforceRetention() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	var total int64
	for _, s := range l.segments {
		total += s.visible
	}
	cutoff := l.opts.Now().Add(-l.opts.RetentionAge).UnixMilli()
	n := 0
	for ; n+1 < len(l.segments) && l.segments[n].finalized; n++ {
		s := l.segments[n]
		expired := l.opts.RetentionAge > 0 && s.maxTS < cutoff
		oversize := l.opts.RetentionBytes > 0 && total-s.visible >= l.opts.RetentionBytes
		if !expired && !oversize {
			break
		}
		total -= s.visible
	}
	var victims []*segment
	if n > 0 {
		newStart := l.segments[n].base
		l.start = max(l.start, newStart)
		victims = l.detachBelowLocked(newStart)
	}
	l.mu.Unlock()
	// No meta write: on Open the start is at least the first segment's base.
	return l.discardSegments(victims, true)
}
