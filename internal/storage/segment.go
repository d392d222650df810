package storage

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/gannet-mq/gannet/internal/batch"
)

// indexEntry is one sparse index point: the batch at byte pos of its
// segment starts at offset base+rel, and maxTS is the largest timestamp of
// that batch and every batch before it in the segment.
type indexEntry struct {
	rel   uint32
	pos   uint32
	maxTS int64
}

// segment is one file of the log. Fields marked "mu" are guarded by the
// log's mutex; the writer side (size, pending, ...) is only changed under it.
type segment struct {
	base int64
	file File
	path string

	size    int64 // mu: bytes assigned to this segment, pending included
	written int64 // bytes handed to the file; the flusher's cursor
	// allocated is the file's reserved size (flusher only); the bytes past
	// the data read as zeros, which recovery takes as the end.
	allocated int64
	// zeroed is where the flusher's zero-fill ahead of the data ends.
	zeroed int64
	// shared is set once a round of the segment went through the commit
	// log (round holder only). Write-outs then write its bytes, which do
	// not zero-fill, so a direct round now and then pays an extent
	// conversion rather than zero-filling a MiB (zeroAhead) and a spare
	// (spareAhead) that the device must write as well.
	shared bool
	// direct is file when the flusher writes it with O_DIRECT, else nil.
	direct  directFile
	visible int64 // mu: bytes readers may see
	end     int64 // mu: offset after the last batch assigned
	maxTS   int64 // mu: largest batch timestamp; math.MinInt64 when empty
	entries []indexEntry

	lastBatchPos int64 // mu: position of the last batch, for the seal entry
	lastBatchRel uint32

	pending, spare []byte // mu: bytes assigned but not yet handed to the flusher
	inDirty        bool   // mu: listed in Log.dirty
	sealed         bool   // mu: no more appends; finalize once written
	needDirSync    bool   // mu: new file whose directory entry is not yet durable
	finalized      bool   // mu: sealed, fsynced, trimmed and indexed; safe to delete

	refs    int  // mu: readers using file
	retired bool // mu: removed from the log; close file when refs reach 0
}

func segmentName(dir string, base int64, ext string) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", base, ext))
}

func newSegment(dir string, base int64, f File) *segment {
	return &segment{base: base, file: f, path: segmentName(dir, base, ".log"), end: base, maxTS: math.MinInt64}
}

// noteBatch records a batch of size n at position pos in the in-memory
// index. Called with the log's mutex held.
func (s *segment) noteBatch(h batch.BatchHeader, pos int64, n int64, interval int) {
	rel := uint32(h.BaseOffset - s.base)
	s.maxTS = max(s.maxTS, h.MaxTimestamp)
	if len(s.entries) == 0 || pos-int64(s.entries[len(s.entries)-1].pos) >= int64(interval) {
		s.entries = append(s.entries, indexEntry{rel: rel, pos: uint32(pos), maxTS: s.maxTS})
	}
	s.lastBatchPos, s.lastBatchRel = pos, rel
	s.size = pos + n
	s.end = h.NextOffset()
}

// sealIndex makes the last batch an index entry, so a sealed segment's
// index also yields its largest timestamp and its last batch.
func (s *segment) sealIndex() {
	if n := len(s.entries); n > 0 && int64(s.entries[n-1].pos) != s.lastBatchPos {
		s.entries = append(s.entries, indexEntry{rel: s.lastBatchRel, pos: uint32(s.lastBatchPos), maxTS: s.maxTS})
	}
}

// lookup returns the position of the last indexed batch starting at or
// before offset off.
func lookup(entries []indexEntry, base, off int64) int64 {
	i := sort.Search(len(entries), func(i int) bool { return base+int64(entries[i].rel) > off })
	if i == 0 {
		return 0
	}
	return int64(entries[i-1].pos)
}

// readHeader reads and parses the batch header at pos.
func readHeader(f io.ReaderAt, pos int64, buf *[batch.HeaderSize]byte) (batch.BatchHeader, error) {
	if _, err := f.ReadAt(buf[:], pos); err != nil {
		return batch.BatchHeader{}, fmt.Errorf("storage: read batch header: %w", err)
	}
	h, err := batch.ParseHeader(buf[:])
	if err != nil {
		return h, fmt.Errorf("%w: at position %d: %w", ErrCorrupt, pos, err)
	}
	return h, nil
}

// Index files hold the in-memory entries of a sealed segment:
// .index is (rel uint32, pos uint32) and .timeindex is (maxTS int64,
// rel uint32), both big-endian, one record per entry, same order.
const (
	offsetIndexEntrySize = 8
	timeIndexEntrySize   = 12
)

func encodeIndexes(entries []indexEntry) (offsets, times []byte) {
	offsets = make([]byte, 0, len(entries)*offsetIndexEntrySize)
	times = make([]byte, 0, len(entries)*timeIndexEntrySize)
	for _, e := range entries {
		offsets = binary.BigEndian.AppendUint32(offsets, e.rel)
		offsets = binary.BigEndian.AppendUint32(offsets, e.pos)
		times = binary.BigEndian.AppendUint64(times, uint64(e.maxTS))
		times = binary.BigEndian.AppendUint32(times, e.rel)
	}
	return offsets, times
}

// loadIndexes reads a sealed segment's index files and checks them against
// the segment: entries strictly increasing, the last one pointing at a batch
// that ends exactly at the end of the file and is followed by nextBase.
func loadIndexes(s *segment, fileSize, nextBase int64) ([]indexEntry, error) {
	offsets, err := os.ReadFile(segmentName(filepath.Dir(s.path), s.base, ".index"))
	if err != nil {
		return nil, err
	}
	times, err := os.ReadFile(segmentName(filepath.Dir(s.path), s.base, ".timeindex"))
	if err != nil {
		return nil, err
	}
	n := len(offsets) / offsetIndexEntrySize
	if n == 0 || len(offsets)%offsetIndexEntrySize != 0 || len(times) != n*timeIndexEntrySize {
		return nil, fmt.Errorf("%w: index sizes %d and %d disagree", ErrCorrupt, len(offsets), len(times))
	}
	entries := make([]indexEntry, n)
	be := binary.BigEndian
	for i := range entries {
		e := indexEntry{
			rel:   be.Uint32(offsets[i*8:]),
			pos:   be.Uint32(offsets[i*8+4:]),
			maxTS: int64(be.Uint64(times[i*12:])),
		}
		if be.Uint32(times[i*12+8:]) != e.rel || int64(e.pos) >= fileSize {
			return nil, fmt.Errorf("%w: index entry %d inconsistent", ErrCorrupt, i)
		}
		if i == 0 && (e.rel != 0 || e.pos != 0) {
			return nil, fmt.Errorf("%w: index does not start at the first batch", ErrCorrupt)
		}
		if i > 0 && (e.rel <= entries[i-1].rel || e.pos <= entries[i-1].pos || e.maxTS < entries[i-1].maxTS) {
			return nil, fmt.Errorf("%w: index entry %d out of order", ErrCorrupt, i)
		}
		entries[i] = e
	}
	last := entries[n-1]
	var buf [batch.HeaderSize]byte
	h, err := readHeader(s.file, int64(last.pos), &buf)
	if err != nil {
		return nil, err
	}
	if h.BaseOffset != s.base+int64(last.rel) || int64(last.pos)+int64(h.Size()) != fileSize || h.NextOffset() != nextBase {
		return nil, fmt.Errorf("%w: index does not match segment %d", ErrCorrupt, s.base)
	}
	s.lastBatchPos, s.lastBatchRel = int64(last.pos), last.rel
	return entries, nil
}

// scanResult is what a batch-by-batch rescan of a segment found.
type scanResult struct {
	validSize int64 // bytes of whole, verified batches
	clean     bool  // everything after validSize is zeros (or nothing)
}

// scan rebuilds s's in-memory state from its file, verifying every batch's
// length, CRC and offset continuity, and stops at the first that fails:
// a torn write, preallocated zeros or corruption. s must be new and empty.
func scan(s *segment, fileSize int64, interval int) (scanResult, error) {
	const chunk = 1 << 20
	buf := make([]byte, 0, chunk)
	var bufPos int64 // file position of buf[0]
	pos := int64(0)
	// window returns file bytes [p, p+n), reading more when needed; nil at EOF.
	window := func(p, n int64) ([]byte, error) {
		if p+n > fileSize {
			return nil, nil
		}
		if p >= bufPos && p+n <= bufPos+int64(len(buf)) {
			return buf[p-bufPos : p-bufPos+n], nil
		}
		want := min(max(n, chunk), fileSize-p)
		if int64(cap(buf)) < want {
			buf = make([]byte, want)
		}
		buf = buf[:want]
		if _, err := s.file.ReadAt(buf, p); err != nil {
			return nil, fmt.Errorf("storage: rescan %s: %w", s.path, err)
		}
		bufPos = p
		return buf[:n], nil
	}
	for {
		hb, err := window(pos, batch.HeaderSize)
		if err != nil {
			return scanResult{}, err
		}
		if hb == nil {
			break
		}
		h, err := batch.ParseHeader(hb)
		if err != nil || h.BaseOffset != s.end || h.LeaderEpoch != 0 {
			break
		}
		whole, err := window(pos, int64(h.Size()))
		if err != nil {
			return scanResult{}, err
		}
		if whole == nil {
			break
		}
		if _, err := batch.Verify(whole); err != nil {
			break
		}
		s.noteBatch(h, pos, int64(h.Size()), interval)
		pos += int64(h.Size())
	}
	s.size, s.written, s.visible = pos, pos, pos
	res := scanResult{validSize: pos, clean: true}
	for p := pos; p < fileSize && res.clean; p += chunk {
		b, err := window(p, min(chunk, fileSize-p))
		if err != nil {
			return scanResult{}, err
		}
		for _, c := range b {
			if c != 0 {
				res.clean = false
				break
			}
		}
	}
	return res, nil
}
