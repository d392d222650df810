package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/gannet-mq/gannet/internal/batch"
)

// Tests of the tail reads served from the log's ring (ring.go), which
// replaced the chunk cache of tailcache.go.

// ringView is a snapshot of a log's ring.
type ringView struct {
	seg      *segment
	from, to int64 // readable window
	size     int   // len(buf)
}

// checkRing checks the ring's invariants and returns a snapshot: a buffer
// exactly when it holds a segment, aligned, a power of two within
// [ringMinBytes, ringMaxBytes], a window no larger than the buffer and
// never past the data handed to the flusher. With quiescent set (no flush
// under way) the ring must hold the active segment up to its newest
// visible byte, and its window must hold the file's bytes.
func checkRing(t testing.TB, l *Log, quiescent bool) ringView {
	t.Helper()
	l.mu.Lock()
	r := &l.ring
	r.mu.RLock()
	v := ringView{seg: r.seg, from: r.from, to: r.to, size: len(r.buf)}
	var window []byte
	var active *segment
	var visible int64
	if r.seg != nil && r.buf != nil && r.to-r.from <= int64(len(r.buf)) {
		window = make([]byte, 0, r.to-r.from)
		for p := r.from; p < r.to; {
			slot := p % int64(len(r.buf))
			n := min(r.to-p, int64(len(r.buf))-slot)
			window = append(window, r.buf[slot:slot+n]...)
			p += n
		}
		active, visible = l.segments[len(l.segments)-1], l.segments[len(l.segments)-1].visible
		if r.to > r.seg.written {
			t.Errorf("ring window ends at %d, past the %d bytes written", r.to, r.seg.written)
		}
	}
	aligned := r.buf == nil || uintptr(unsafe.Pointer(&r.buf[0]))%directAlign == 0
	r.mu.RUnlock()
	l.mu.Unlock()

	if (v.seg == nil) != (v.size == 0) {
		t.Fatalf("ring holds segment %v with a buffer of %d bytes", v.seg != nil, v.size)
	}
	if v.seg == nil {
		if quiescent {
			t.Fatal("ring is empty after direct writes")
		}
		return v
	}
	if !aligned || v.size < ringMinBytes || v.size > ringMaxBytes || v.size&(v.size-1) != 0 {
		t.Fatalf("ring buffer of %d bytes (aligned %v)", v.size, aligned)
	}
	if v.from > v.to || v.to-v.from > int64(v.size) {
		t.Fatalf("ring window [%d, %d) in a buffer of %d", v.from, v.to, v.size)
	}
	if quiescent {
		if v.seg != active || v.to != visible {
			t.Fatalf("ring ends at %d of segment %d; the newest data ends at %d of segment %d", v.to, v.seg.base, visible, active.base)
		}
		f, err := os.Open(v.seg.path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		file := make([]byte, len(window))
		if _, err := f.ReadAt(file, v.from); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(window, file) {
			t.Fatalf("ring window [%d, %d) differs from the file", v.from, v.to)
		}
	}
	return v
}

// TestRingServesTailReads: once more than the ring holds is written to one
// segment, the ring keeps exactly the newest bytes; readAt of ranges
// before, inside and straddling its window match the file, and after the
// file is overwritten behind the log's back, the window's part (and
// ReadRecords of the newest record) still returns the appended bytes while
// the rest comes from the file.
func TestRingServesTailReads(t *testing.T) {
	dir := t.TempDir()
	skipWithoutDirectIO(t, dir)
	// IdleRelease: time.Hour keeps the ring while the test looks at it.
	l := openLog(t, dir, Options{IdleRelease: time.Hour})
	sizes := irregularSizes(5, 200) // about 7 MiB in one segment
	appendSized(t, l, 0, sizes)
	v := checkRing(t, l, true)
	s := activeSegment(l)
	if v.seg != s || v.from <= 64<<10 || v.to-v.from < 64<<10 {
		t.Fatalf("ring window [%d, %d); want the newest bytes of the active segment, the oldest gone", v.from, v.to)
	}
	file, err := os.ReadFile(s.path)
	if err != nil {
		t.Fatal(err)
	}
	read := func(pos, n int64) []byte {
		p := make([]byte, n)
		if err := l.readAt(s, p, pos); err != nil {
			t.Fatalf("readAt(%d, %d): %v", pos, n, err)
		}
		return p
	}
	for _, r := range [][2]int64{{0, 5000}, {v.from - 5000, 5000}, {v.from - 1234, 9999}, {v.from, v.to - v.from}, {v.to - 3, 3}, {v.from - 1, v.to - v.from + 1}, {v.from + 100, 4096}} {
		if got := read(r[0], r[1]); !bytes.Equal(got, file[r[0]:r[0]+r[1]]) {
			t.Fatalf("readAt(%d, %d) differs from the file", r[0], r[1])
		}
	}

	// Overwrite the data behind the log's back: what the ring holds must
	// still read as appended, the rest comes from the file.
	f, err := os.OpenFile(s.path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xEE}, int(v.to)), 0); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	got := read(v.from-1000, 3000)
	if !bytes.Equal(got[:1000], bytes.Repeat([]byte{0xEE}, 1000)) || !bytes.Equal(got[1000:], file[v.from:v.from+2000]) {
		t.Fatal("a read straddling the ring's window did not take the file's bytes before it and the ring's in it")
	}
	last := int64(len(sizes) - 1)
	recs, err := l.ReadRecords(last, 1, nil)
	if err != nil || len(recs) != 1 {
		t.Fatalf("newest record: %d records, %v", len(recs), err)
	}
	if err := checkSized(recs, last); err != nil {
		t.Fatal(err)
	}
	if _, err := l.ReadRecords(0, 1, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("reading the overwritten start, outside the ring: %v; want ErrCorrupt", err)
	}
}

// TestRingBound writes 20 MiB across segment rolls in rounds from a few
// bytes to 5 MiB: the ring starts at ringMinBytes for small rounds, grows
// to ringMaxBytes and no further, always ends at the newest byte with the
// file's bytes, and frees its buffer on Close.
func TestRingBound(t *testing.T) {
	dir := t.TempDir()
	skipWithoutDirectIO(t, dir)
	l := openLog(t, dir, Options{SegmentBytes: 8 << 20, IdleRelease: time.Hour})
	appendSized(t, l, 0, []int{10})
	if v := checkRing(t, l, true); v.size != ringMinBytes {
		t.Fatalf("after one small append the ring has %d bytes, want %d", v.size, ringMinBytes)
	}
	r := rand.New(rand.NewPCG(6, 6))
	off, written, biggest := int64(1), int64(10), 0
	for round := 0; written < 20<<20; round++ {
		var last Appended
		for range 1 + r.IntN(8) {
			size := 1 + r.IntN(160<<10)
			a, err := l.Append([]batch.Record{sizedRecord(off, size)})
			if err != nil {
				t.Fatal(err)
			}
			last, off, written = a, off+1, written+int64(size)
		}
		if round%10 == 9 { // one batch of 5 MiB: a round larger than the ring
			var recs []batch.Record
			for range 50 {
				recs = append(recs, sizedRecord(off, 100<<10))
				off, written = off+1, written+100<<10
			}
			a, err := l.Append(recs)
			if err != nil {
				t.Fatal(err)
			}
			last = a
		}
		if err := last.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		biggest = max(biggest, checkRing(t, l, true).size)
	}
	if biggest != ringMaxBytes || l.Stats().Segments < 3 {
		t.Fatalf("ring grew to %d bytes (want %d) over %d segments", biggest, ringMaxBytes, l.Stats().Segments)
	}
	if err := checkSized(readAll(t, l, 0), 0); err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	if l.ring.buf != nil || l.ring.seg != nil {
		t.Fatalf("Close kept a ring of %d bytes", len(l.ring.buf))
	}
}

// followSize is the value size of record off in TestRingConcurrentReaders.
func followSize(off int64) int { return 1 + int(uint64(off)*2654435761%(48<<10)) }

// TestRingConcurrentReaders: readers following the tail (ReadRecords,
// OffsetForTime and random older reads) see exactly the appended records
// while one appender writes across segment rolls, so the ring's window
// moves, wraps, grows and changes segment under them. Meant for -race.
func TestRingConcurrentReaders(t *testing.T) {
	skipWithoutDirectIO(t, t.TempDir())
	l := openLog(t, t.TempDir(), Options{SegmentBytes: 1 << 20, IdleRelease: time.Hour})
	const total = 600
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for off := int64(0); off < total; {
			var last Appended
			for n := 1 + off%3; n > 0 && off < total; n-- {
				a, err := l.Append([]batch.Record{sizedRecord(off, followSize(off))})
				if err != nil {
					t.Errorf("Append %d: %v", off, err)
					return
				}
				last, off = a, off+1
			}
			if err := last.Wait(context.Background()); err != nil {
				t.Errorf("Wait: %v", err)
				return
			}
		}
	})
	for reader := range 3 {
		wg.Go(func() {
			if err := follow(l, reader, total, done); err != nil {
				t.Errorf("reader %d: %v", reader, err)
			}
		})
	}
	wg.Wait()
	checkRing(t, l, true)
}

// follow reads records [0, total) as they become visible and checks them.
func follow(l *Log, reader int, total int64, done <-chan struct{}) error {
	r := rand.New(rand.NewPCG(uint64(reader), 9))
	maxBytes := []int{1, 64 << 10, 1 << 20}[reader]
	for from := int64(0); from < total; {
		changed := l.Changed()
		end := l.EndOffset()
		if from == end {
			select {
			case <-changed:
			case <-done:
				if l.EndOffset() == from {
					return fmt.Errorf("appender stopped at %d", from)
				}
			case <-time.After(30 * time.Second):
				return fmt.Errorf("no progress past %d", from)
			}
			continue
		}
		recs, err := l.ReadRecords(from, maxBytes, nil)
		if err != nil || len(recs) == 0 {
			return fmt.Errorf("ReadRecords(%d) below end %d: %d records, %v", from, end, len(recs), err)
		}
		if err := checkSized(recs, from); err != nil {
			return fmt.Errorf("ReadRecords(%d): %w", from, err)
		}
		if reader == 2 {
			if got, err := l.OffsetForTime(tsBase + from); err != nil || got != from {
				return fmt.Errorf("OffsetForTime of record %d: %d, %v", from, got, err)
			}
			old := r.Int64N(from + 1)
			if recs, err := l.ReadRecords(old, 1, nil); err != nil || len(recs) == 0 || checkSized(recs, old) != nil {
				return fmt.Errorf("ReadRecords(%d) behind the tail: %v %v", old, err, checkSized(recs, old))
			}
		}
		from = recs[len(recs)-1].Offset + 1
	}
	return nil
}

// TestIdleLogReleasesBuffers lets a log go idle after rounds that end in a
// partial block: the syncer drops its ring and spare buffers, reads fall
// back to the file, and the next round rebuilds the ring from the file's
// partial last block, so every record reads back before and after a
// reopen; idle again, it gives them back again. The idle time leaves
// checkRing ample time to see the ring before it goes.
func TestIdleLogReleasesBuffers(t *testing.T) {
	dir := t.TempDir()
	skipWithoutDirectIO(t, dir)
	l := openLog(t, dir, Options{IdleRelease: time.Second})
	sizes := []int{10, 5000, 123, 70000, 1}
	appendSized(t, l, 0, sizes)
	if v := checkRing(t, l, true); v.size == 0 {
		t.Fatal("no ring after the first rounds")
	}
	released := func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.ring.mu.RLock()
		defer l.ring.mu.RUnlock()
		for _, s := range l.segments {
			if s.spare != nil {
				return false
			}
		}
		return l.ring.buf == nil
	}
	waitReleased := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !released() {
			if time.Now().After(deadline) {
				t.Fatalf("an idle log kept its ring or spare buffers %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitReleased("after the first rounds")
	if err := checkSized(readAll(t, l, 0), 0); err != nil {
		t.Fatalf("reading from the file after the release: %v", err)
	}
	more := []int{7, 4096, 333}
	appendSized(t, l, int64(len(sizes)), more)
	if v := checkRing(t, l, true); v.size == 0 {
		t.Fatal("the next round did not rebuild the ring")
	}
	waitReleased("after the next round")
	all := readAll(t, l, 0)
	if len(all) != len(sizes)+len(more) {
		t.Fatalf("read %d records, want %d", len(all), len(sizes)+len(more))
	}
	if err := checkSized(all, 0); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	re := openLog(t, dir, Options{})
	if err := checkSized(readAll(t, re, 0), 0); err != nil || re.EndOffset() != int64(len(sizes)+len(more)) {
		t.Fatalf("after reopen: end %d, %v", re.EndOffset(), err)
	}
}

// TestSealedSegmentsHoldNoBuffers: a sealed segment takes no more appends,
// so once its last bytes are written it keeps no append buffer, busy log
// or not (the idle release is pushed out of the way here).
func TestSealedSegmentsHoldNoBuffers(t *testing.T) {
	for name, mode := range map[string]SyncMode{"always": SyncAlways, "interval": SyncInterval, "never": SyncNever} {
		t.Run(name, func(t *testing.T) {
			l := openLog(t, t.TempDir(), Options{Sync: mode, SegmentBytes: 64 << 10, IdleRelease: time.Hour})
			sizes := make([]int, 40)
			for i := range sizes {
				sizes[i] = 8 << 10
			}
			appendSized(t, l, 0, sizes)
			l.mu.Lock()
			defer l.mu.Unlock()
			if len(l.segments) < 3 {
				t.Fatalf("only %d segments; the test needs several", len(l.segments))
			}
			for _, s := range l.segments[:len(l.segments)-1] {
				if cap(s.pending)+cap(s.spare) != 0 {
					t.Errorf("sealed segment %d keeps %d + %d bytes of buffers", s.base, cap(s.pending), cap(s.spare))
				}
			}
		})
	}
}
