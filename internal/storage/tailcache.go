package storage

import (
	"sort"
	"sync"
	"sync/atomic"
)

// The tail cache keeps the most recently flushed buffers of a log, so that
// readers following the tail (the usual case: a consumer a few
// milliseconds behind its producer) copy from memory instead of reading
// the device. It matters because direct writes (direct.go) bypass the page
// cache; logs written through the page cache do not use it.
//
// For each segment the cached chunks form one contiguous run of positions,
// oldest first; a chunk that cannot be cached drops the run before it, so
// the run always ends at the newest flushed byte. Readers take mu for
// reading while they copy; the flusher takes it for writing to add and
// evict, so an evicted buffer is reused only once no reader can hold it.

// tailCacheBytes bounds one log's cache.
const tailCacheBytes = 4 << 20

// CacheBudget bounds the memory of the tail caches of many logs together.
// Share one between the logs of a broker; the zero value has no limit.
type CacheBudget struct {
	Limit int64
	used  atomic.Int64
}

// reserve takes n bytes from the budget if they fit.
func (b *CacheBudget) reserve(n int64) bool {
	if b == nil {
		return true
	}
	if used := b.used.Add(n); b.Limit > 0 && used > b.Limit {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *CacheBudget) release(n int64) {
	if b != nil {
		b.used.Add(-n)
	}
}

// Used reports the bytes the caches sharing b hold now.
func (b *CacheBudget) Used() int64 { return b.used.Load() }

type cachedChunk struct {
	seg  *segment
	pos  int64 // segment position of data[0]
	data []byte
}

func (c cachedChunk) end() int64 { return c.pos + int64(len(c.data)) }

type tailCache struct {
	mu     sync.RWMutex
	chunks []cachedChunk // oldest first
	bytes  int64         // capacity of the cached buffers
}

// keepLocked caches the written buffer of job j, evicting the oldest chunks
// beyond the log's share, and reports whether it kept it. Evicted buffers
// go back to their segments as spares. Called with l.mu held.
func (l *Log) keepLocked(j flushJob) bool {
	c := &l.cache
	size := int64(cap(j.data))
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if (c.bytes+size <= tailCacheBytes || len(c.chunks) == 0) && l.opts.CacheBudget.reserve(size) {
			break
		}
		if len(c.chunks) == 0 {
			return false
		}
		l.evictOldestLocked()
	}
	if n := len(c.chunks); n > 0 && c.chunks[n-1].seg == j.seg && c.chunks[n-1].end() != j.pos {
		// Not contiguous with the segment's run (an earlier round was not
		// cached); cannot happen while every round is kept, but keep the
		// invariant regardless.
		for len(c.chunks) > 0 {
			l.evictOldestLocked()
		}
	}
	c.chunks = append(c.chunks, cachedChunk{seg: j.seg, pos: j.pos, data: j.data})
	c.bytes += size
	return true
}

// evictOldestLocked drops the oldest chunk. Called with l.mu and
// l.cache.mu held.
func (l *Log) evictOldestLocked() {
	c := &l.cache
	old := c.chunks[0]
	c.chunks[0] = cachedChunk{}
	c.chunks = c.chunks[1:]
	c.bytes -= int64(cap(old.data))
	l.opts.CacheBudget.release(int64(cap(old.data)))
	if old.seg.spare == nil && !old.seg.sealed {
		old.seg.spare = old.data[:0]
	}
}

// dropCache empties the cache (Close).
func (l *Log) dropCacheLocked() {
	c := &l.cache
	c.mu.Lock()
	for len(c.chunks) > 0 {
		l.evictOldestLocked()
	}
	c.chunks = nil
	c.mu.Unlock()
}

// readAt fills p with the bytes of s at pos: from the tail cache where it
// holds them, from the file for the rest. Bytes below the segment's
// visible end never change, so mixing the two is safe.
func (l *Log) readAt(s *segment, p []byte, pos int64) error {
	end := pos + int64(len(p))
	c := &l.cache
	c.mu.RLock()
	// The run of s: chunks[first:last] hold [runStart, runEnd).
	first := sort.Search(len(c.chunks), func(i int) bool {
		ch := c.chunks[i]
		return ch.seg == s && ch.end() > pos || ch.seg != s && ch.seg.base > s.base
	})
	fromFile := len(p)
	if first < len(c.chunks) && c.chunks[first].seg == s && c.chunks[first].pos < end {
		at := max(pos, c.chunks[first].pos)
		i := first
		for ; i < len(c.chunks) && c.chunks[i].seg == s && at < end; i++ {
			ch := c.chunks[i]
			at += int64(copy(p[at-pos:], ch.data[at-ch.pos:]))
		}
		if at == end {
			fromFile = int(max(c.chunks[first].pos, pos) - pos)
		}
	}
	c.mu.RUnlock()
	if fromFile == 0 {
		return nil
	}
	_, err := s.file.ReadAt(p[:fromFile], pos)
	return err
}

// segmentReader reads one segment through the tail cache.
type segmentReader struct {
	l *Log
	s *segment
}

func (r segmentReader) ReadAt(p []byte, off int64) (int, error) {
	if err := r.l.readAt(r.s, p, off); err != nil {
		return 0, err
	}
	return len(p), nil
}
