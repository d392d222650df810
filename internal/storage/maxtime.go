package storage

import (
	"math"
	"sort"

	"github.com/gannet-mq/gannet/internal/batch"
)

// MaxTimestamp returns the largest record timestamp among the readable
// records, [StartOffset, EndOffset), and false when there are none.
// OffsetForTime of the result is the earliest record carrying it.
//
// It answers from each segment's running maximum (maxTS), kept by appends
// and, on reopen, restored from the time index or the rescan; a segment
// dropped by retention simply stops counting.
// At most two segments are read from disk, and only when their maximum
// could raise the answer: the first one when StartOffset cuts into it
// (its maximum may belong to a record below the start), and the active
// one while its last batches await fsync (its maximum may not be readable
// yet).
func (l *Log) MaxTimestamp() (int64, bool, error) {
	type cut struct {
		s       *segment
		from    int64
		limit   int64 // readable bytes
		maxTS   int64
		entries []indexEntry
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return 0, false, ErrClosed
	}
	start, end := l.start, l.visibleEnd.Load()
	best, found := int64(math.MinInt64), false
	var cuts []cut
	for _, s := range l.segments {
		from := max(start, s.base)
		if from >= min(s.end, end) {
			continue // no readable record here
		}
		found = true
		if from == s.base && s.end <= end {
			best = max(best, s.maxTS)
			continue
		}
		s.refs++
		cuts = append(cuts, cut{s, from, s.visible, s.maxTS, s.entries})
	}
	l.mu.Unlock()

	var err error
	for _, c := range cuts {
		if err == nil && c.maxTS > best {
			best, err = l.maxFrom(c.s, c.entries, c.limit, c.from, best)
		}
		l.release(c.s)
	}
	if err != nil {
		return 0, false, err
	}
	return best, found, nil
}

// maxFrom returns the larger of best and the largest timestamp of s's
// records at or after offset from within its first limit bytes.
func (l *Log) maxFrom(s *segment, entries []indexEntry, limit, from, best int64) (int64, error) {
	r := segmentReader{l, s}
	var pos int64
	if from > s.base {
		p, err := findBatch(r, entries, limit, from)
		if err != nil {
			return 0, err
		}
		pos = p
	} else if i := sort.Search(len(entries), func(i int) bool { return int64(entries[i].pos) >= limit }); i > 0 {
		// A whole prefix: the last readable entry's running maximum covers
		// every batch up to it, so only the batches after it are read.
		best, pos = max(best, entries[i-1].maxTS), int64(entries[i-1].pos)
	}
	var hbuf [batch.HeaderSize]byte
	for pos+batch.HeaderSize <= limit {
		h, err := readHeader(r, pos, &hbuf)
		if err != nil {
			return 0, err
		}
		switch {
		case h.MaxTimestamp <= best:
		case h.BaseOffset >= from:
			best = h.MaxTimestamp
		default: // the batch holds records below from, which do not count
			err := l.eachRecordAt(r, pos, h, func(rec *batch.Record) bool {
				if rec.Offset >= from {
					best = max(best, rec.Timestamp)
				}
				return true
			})
			if err != nil {
				return 0, err
			}
		}
		pos += int64(h.Size())
	}
	return best, nil
}
