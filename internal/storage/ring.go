package storage

import (
	"fmt"
	"sync"
)

// The ring is where the flusher assembles each O_DIRECT write, and what
// readers at the tail copy from. File position p of the segment being
// written lives at ring slot p mod len(buf), so the last partial block of
// one round is already in place as the start of the next, and the ring
// keeps the newest bytes of the segment for readers (a consumer a few
// milliseconds behind its producer) without a page cache.
//
// The ring starts small and doubles, up to ringMaxBytes, while rounds are
// large compared with it, so an idle queue costs ringMinBytes and a busy
// partition ringMaxBytes.
//
// Readers take mu for reading while they copy. The flusher takes it for
// writing only to move the window [from, to) of readable positions: before
// it overwrites slots it moves from past them, so it never writes a slot a
// reader may be copying.

const (
	ringMinBytes = 64 << 10
	ringMaxBytes = 2 << 20
)

type ring struct {
	mu       sync.RWMutex
	seg      *segment // the segment whose bytes the ring holds; nil when empty
	buf      []byte   // aligned; its length is a power of two
	from, to int64    // readable positions of seg
	// disk is where seg's bytes on file end (round holder only): below it the
	// file has them; [disk, to) is deferred, in the ring only, held by the
	// commit log. from never passes disk.
	disk int64
}

// writeDirect writes data at pos of s with O_DIRECT through the ring.
// Only the round's holder calls it, through persist, which has written the
// commit log's deferred bytes out first.
func (l *Log) writeDirect(s *segment, data []byte, pos int64) error {
	r := &l.ring
	if err := l.growAllocation(s, alignUp(pos+int64(len(data)))); err != nil {
		return err
	}
	if err := l.ringFor(s, pos, len(data)); err != nil {
		return err
	}
	size := int64(len(r.buf))
	// A piece plus its partial first and last blocks must fit the ring.
	maxPiece := int(size - 2*directAlign)
	for len(data) > 0 {
		piece := data[:min(len(data), maxPiece)]
		data = data[len(piece):]
		start, end := alignDown(pos), pos+int64(len(piece))
		stop := alignUp(end)
		r.mu.Lock()
		r.from = max(r.from, stop-size)
		r.mu.Unlock()
		r.put(pos, piece)
		r.zero(end, stop)
		if err := r.spans(start, stop, func(b []byte, at int64) error {
			_, err := s.direct.WriteDirect(b, at)
			return err
		}); err != nil {
			r.drop()
			return fmt.Errorf("write %s: %w", s.path, err)
		}
		r.mu.Lock()
		r.to = end
		r.mu.Unlock()
		r.disk = end
		pos = end
	}
	return nil
}

// ringFor readies the ring for a round of n bytes at pos of s. It goes on
// as it is when the round follows its bytes in the same segment and it is
// large enough for such rounds; otherwise its deferred bytes are written
// out and it is reset.
func (l *Log) ringFor(s *segment, pos int64, n int) error {
	r := &l.ring
	if r.seg == s && r.to == pos && (n <= len(r.buf)/4 || len(r.buf) >= ringMaxBytes) {
		return nil
	}
	if err := l.writeOut(); err != nil {
		return err
	}
	return r.reset(s, pos, n)
}

// reset empties the ring for writes at pos of s, sized for rounds of about
// round bytes, and loads the bytes of pos's block already on disk.
func (r *ring) reset(s *segment, pos int64, round int) error {
	size := max(len(r.buf), ringMinBytes)
	for size < ringMaxBytes && round > size/4 {
		size *= 2
	}
	r.mu.Lock()
	if size != len(r.buf) {
		r.buf = alignedBuffer(size)
	}
	r.seg, r.from, r.to, r.disk = s, pos, pos, pos
	r.mu.Unlock()
	start := alignDown(pos)
	if start == pos {
		return nil
	}
	slot := start % int64(len(r.buf))
	if _, err := s.file.ReadAt(r.buf[slot:slot+pos-start], start); err != nil {
		r.drop()
		return fmt.Errorf("read back %s: %w", s.path, err)
	}
	// Readers of the partial block copy it from here too, so none reads
	// through the page cache a block that O_DIRECT is about to rewrite.
	r.mu.Lock()
	r.from = start
	r.mu.Unlock()
	return nil
}

// put copies data into the slots of positions [pos, pos+len(data)).
func (r *ring) put(pos int64, data []byte) {
	size := int64(len(r.buf))
	for len(data) > 0 {
		slot := pos % size
		n := copy(r.buf[slot:], data)
		data = data[n:]
		pos += int64(n)
	}
}

// zero clears the slots of positions [from, to), within one block.
func (r *ring) zero(from, to int64) {
	_ = r.spans(from, to, func(b []byte, _ int64) error { clear(b); return nil })
}

// spans calls fn, in order, with each run of slots that holds positions
// [from, to) without wrapping, and the position of its first byte.
func (r *ring) spans(from, to int64, fn func(b []byte, at int64) error) error {
	size := int64(len(r.buf))
	for at := from; at < to; {
		slot := at % size
		n := min(to-at, size-slot)
		if err := fn(r.buf[slot:slot+n], at); err != nil {
			return err
		}
		at += n
	}
	return nil
}

// drop forgets the ring's contents and frees its memory.
func (r *ring) drop() {
	r.mu.Lock()
	r.seg, r.buf, r.from, r.to, r.disk = nil, nil, 0, 0, 0
	r.mu.Unlock()
}

// copyOut copies the ring's bytes of s at [pos, pos+len(p)) into p and
// returns how many leading bytes of p it could not supply, which the caller
// reads from the file. The ring holds a suffix of the range or none of it.
func (r *ring) copyOut(s *segment, p []byte, pos int64) int {
	end := pos + int64(len(p))
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.seg != s || end > r.to || end <= r.from {
		return len(p)
	}
	at := max(pos, r.from)
	skip := int(at - pos)
	size := int64(len(r.buf))
	for out := p[skip:]; len(out) > 0; {
		slot := at % size
		n := copy(out, r.buf[slot:min(slot+int64(len(out)), size)])
		out = out[n:]
		at += int64(n)
	}
	return skip
}

// readAt fills p with the bytes of s at pos: from the ring where it holds
// them, from the file for the rest. Bytes below the segment's visible end
// never change, so mixing the two is safe.
func (l *Log) readAt(s *segment, p []byte, pos int64) error {
	if n := l.ring.copyOut(s, p, pos); n > 0 {
		if _, err := s.file.ReadAt(p[:n], pos); err != nil {
			return err
		}
	}
	return nil
}

// segmentReader reads one segment through the ring.
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
