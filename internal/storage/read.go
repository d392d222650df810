package storage

import (
	"fmt"
	"math"
	"sort"

	"github.com/gannet-mq/gannet/internal/batch"
)

// Read returns raw whole batches starting with the one that holds offset
// from, up to about maxBytes: always at least one whole batch if any is
// available, even a larger one. It reads within one segment. It returns
// (nil, nil) at EndOffset and ErrOffsetOutOfRange outside
// [StartOffset, EndOffset]. Batch CRCs are not checked here (ReadRecords
// and Kafka clients check them).
func (l *Log) Read(from int64, maxBytes int) ([]byte, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	end := l.visibleEnd.Load()
	if from < l.start || from > end {
		start := l.start
		l.mu.Unlock()
		return nil, fmt.Errorf("%w: %d not in [%d, %d]", ErrOffsetOutOfRange, from, start, end)
	}
	if from == end {
		l.mu.Unlock()
		return nil, nil
	}
	s := l.acquireLocked(from)
	limit, entries := s.visible, s.entries
	l.mu.Unlock()
	defer l.release(s)

	r := segmentReader{l, s}
	pos, err := findBatch(r, entries, limit, from)
	if err != nil {
		return nil, err
	}
	return readBatches(r, pos, limit, maxBytes)
}

// findBatch returns the position of the batch holding offset from.
func findBatch(r segmentReader, entries []indexEntry, limit, from int64) (int64, error) {
	s := r.s
	var hbuf [batch.HeaderSize]byte
	for pos := lookup(entries, s.base, from); pos+batch.HeaderSize <= limit; {
		h, err := readHeader(r, pos, &hbuf)
		if err != nil {
			return 0, err
		}
		if h.NextOffset() > from {
			return pos, nil
		}
		pos += int64(h.Size())
	}
	return 0, fmt.Errorf("%w: offset %d missing from segment %d", ErrCorrupt, from, s.base)
}

// readBatches reads whole batches from pos: as many as fit in maxBytes, and
// at least one.
func readBatches(r segmentReader, pos, limit int64, maxBytes int) ([]byte, error) {
	s := r.s
	n := min(max(int64(maxBytes), batch.HeaderSize), limit-pos)
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, pos); err != nil {
		return nil, fmt.Errorf("storage: read %s: %w", s.path, err)
	}
	whole := 0
	for whole+batch.HeaderSize <= len(buf) {
		h, err := batch.ParseHeader(buf[whole:])
		if err != nil {
			return nil, fmt.Errorf("%w: at position %d: %w", ErrCorrupt, pos+int64(whole), err)
		}
		if whole+h.Size() > len(buf) {
			if whole == 0 { // the first batch alone exceeds maxBytes
				if pos+int64(h.Size()) > limit {
					return nil, fmt.Errorf("%w: batch at %d overruns segment %d", ErrCorrupt, pos, s.base)
				}
				big := make([]byte, h.Size())
				copy(big, buf)
				if _, err := r.ReadAt(big[len(buf):], pos+int64(len(buf))); err != nil {
					return nil, fmt.Errorf("storage: read %s: %w", s.path, err)
				}
				return big, nil
			}
			break
		}
		whole += h.Size()
	}
	if whole == 0 {
		return nil, fmt.Errorf("%w: partial batch at %d in segment %d", ErrCorrupt, pos, s.base)
	}
	return buf[:whole:whole], nil
}

// ReadRecords is Read followed by decoding: it appends the records at or
// after from to dst. Every batch's CRC is checked; a corrupt batch yields
// ErrCorrupt and none of its records. The records' keys, values and headers
// point into memory allocated for this call and never reused, so callers
// may keep and hand them on without copying.
func (l *Log) ReadRecords(from int64, maxBytes int, dst []batch.Record) ([]batch.Record, error) {
	raw, err := l.Read(from, maxBytes)
	if err != nil || raw == nil {
		return dst, err
	}
	d := l.decoders.Get().(*decoderState)
	defer l.decoders.Put(d)
	for len(raw) > 0 {
		h, err := batch.ParseHeader(raw)
		if err == nil && h.Size() > len(raw) {
			err = batch.ErrShort
		}
		if err != nil {
			return dst, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		one := raw[:h.Size()]
		raw = raw[h.Size():]
		start := len(dst)
		if dst, err = d.dec.Decode(one, dst); err != nil {
			return dst, fmt.Errorf("%w: batch at offset %d: %w", ErrCorrupt, h.BaseOffset, err)
		}
		// Drop records below from: the first batch may start earlier.
		keep := start
		for _, r := range dst[start:] {
			if r.Offset >= from {
				dst[keep] = r
				keep++
			}
		}
		clear(dst[keep:])
		dst = dst[:keep]
	}
	return dst, nil
}

// OffsetForTime returns the first offset whose record timestamp is at or
// after ts (unix ms), or EndOffset if there is none.
//
// The first segment whose running maximum reaches ts holds the answer,
// unless StartOffset cuts into it and every record reaching ts lies below
// the start; the search then goes on with the segments after it.
func (l *Log) OffsetForTime(ts int64) (int64, error) {
	for after := int64(math.MinInt64); ; {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return 0, ErrClosed
		}
		start, end := l.start, l.visibleEnd.Load()
		var s *segment
		for _, c := range l.segments {
			if c.base > after && c.end > start && c.visible > 0 && c.maxTS >= ts {
				s = c
				break
			}
		}
		if s == nil {
			l.mu.Unlock()
			return end, nil
		}
		s.refs++
		limit, entries := s.visible, s.entries
		l.mu.Unlock()
		off, found, err := l.offsetForTimeIn(s, entries, limit, start, ts)
		l.release(s)
		if err != nil || found {
			return off, err
		}
		after = s.base
	}
}

// offsetForTimeIn returns the first offset at or after start in s's first
// limit bytes whose record timestamp is at or after ts, and whether there
// is one.
func (l *Log) offsetForTimeIn(s *segment, entries []indexEntry, limit, start, ts int64) (int64, bool, error) {
	// Every batch up to an entry whose running maximum is below ts can be
	// skipped; start at the last such entry, and not before StartOffset.
	i := sort.Search(len(entries), func(i int) bool { return entries[i].maxTS >= ts })
	pos := int64(0)
	if i > 0 {
		pos = int64(entries[i-1].pos)
	}
	r := segmentReader{l, s}
	if start > s.base {
		p, err := findBatch(r, entries, limit, start)
		if err != nil {
			return 0, false, err
		}
		pos = max(pos, p)
	}
	var hbuf [batch.HeaderSize]byte
	for pos+batch.HeaderSize <= limit {
		h, err := readHeader(r, pos, &hbuf)
		if err != nil {
			return 0, false, err
		}
		if h.MaxTimestamp >= ts && h.NextOffset() > start {
			at, found := int64(0), false
			err := l.eachRecordAt(r, pos, h, func(rec *batch.Record) bool {
				if rec.Offset >= start && rec.Timestamp >= ts {
					at, found = rec.Offset, true
				}
				return !found
			})
			if err != nil || found {
				return at, found, err
			}
		}
		pos += int64(h.Size())
	}
	return 0, false, nil
}

// eachRecordAt reads and decodes the batch at pos of r, whose header is h,
// and calls fn with its records in order until fn returns false.
func (l *Log) eachRecordAt(r segmentReader, pos int64, h batch.BatchHeader, fn func(*batch.Record) bool) error {
	raw := make([]byte, h.Size())
	if _, err := r.ReadAt(raw, pos); err != nil {
		return fmt.Errorf("storage: read %s: %w", r.s.path, err)
	}
	d := l.decoders.Get().(*decoderState)
	defer func() {
		clear(d.recs) // do not pin raw
		l.decoders.Put(d)
	}()
	var err error
	if d.recs, err = d.dec.Decode(raw, d.recs[:0]); err != nil {
		return fmt.Errorf("%w: batch at offset %d: %w", ErrCorrupt, h.BaseOffset, err)
	}
	for i := range d.recs {
		if !fn(&d.recs[i]) {
			break
		}
	}
	return nil
}
