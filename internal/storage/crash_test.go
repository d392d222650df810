package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gannet-mq/gannet/internal/batch"
)

// crashFixture writes acknowledged batches to a log with small segments and
// returns the directory, the tail segment's path and each tail batch's end
// position within that segment.
func crashFixture(t *testing.T, opts Options, n int) (dir, tail string, tailBase int64, ends []int64) {
	t.Helper()
	dir = t.TempDir()
	l := openLog(t, dir, opts)
	appendN(t, l, 0, n)
	l.mu.Lock()
	s := l.segments[len(l.segments)-1]
	tail, tailBase = s.path, s.base
	for _, e := range s.entries { // IndexIntervalBytes 1: every batch is indexed
		ends = append(ends, int64(e.pos))
	}
	ends = append(ends, s.size)[1:]
	l.mu.Unlock()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, tail, tailBase, ends
}

// copyTree copies a directory tree as it is on disk now: a crash image.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// wholeBatchesBefore is the number of tail batches that end at or before pos.
func wholeBatchesBefore(ends []int64, pos int64) int {
	n := 0
	for n < len(ends) && ends[n] <= pos {
		n++
	}
	return n
}

// checkRecovered opens dir and checks it holds exactly offsets [0, want),
// then that it takes and returns a new append.
func checkRecovered(t *testing.T, dir string, opts Options, want int64, what string) {
	t.Helper()
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("%s: Open: %v", what, err)
	}
	defer l.Close()
	if l.EndOffset() != want {
		t.Fatalf("%s: recovered end %d, want %d", what, l.EndOffset(), want)
	}
	checkValues(t, readAll(t, l, 0), 0, 0)
	a, err := l.Append([]batch.Record{{Value: value(int(want))}})
	if err != nil || a.Base != want {
		t.Fatalf("%s: append after recovery: %+v %v", what, a, err)
	}
	if err := a.Wait(context.Background()); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	checkValues(t, readAll(t, l, 0), 0, 0)
}

// TestCrashCutEveryByte truncates the tail segment at every byte of its last
// batches: recovery must keep exactly the batches wholly before the cut.
func TestCrashCutEveryByte(t *testing.T) {
	opts := Options{SegmentBytes: 1200, IndexIntervalBytes: 1}
	dir, tail, tailBase, ends := crashFixture(t, opts, 30)
	if tailBase == 0 || len(ends) < 4 {
		t.Fatalf("fixture: tail base %d with %d batches; want a rolled log", tailBase, len(ends))
	}
	for cut := int64(0); cut <= ends[len(ends)-1]; cut++ {
		d := copyTree(t, dir)
		if err := os.Truncate(filepath.Join(d, filepath.Base(tail)), cut); err != nil {
			t.Fatal(err)
		}
		checkRecovered(t, d, opts, tailBase+int64(wholeBatchesBefore(ends, cut)), "cut")
	}
}

// TestBitFlipRecovery flips one bit at many positions of the tail segment:
// recovery keeps exactly the batches before the damaged one.
func TestBitFlipRecovery(t *testing.T) {
	opts := Options{SegmentBytes: 1200, IndexIntervalBytes: 1}
	dir, tail, tailBase, ends := crashFixture(t, opts, 30)
	last := ends[len(ends)-1]
	for pos := int64(0); pos < last; pos += 3 {
		d := copyTree(t, dir)
		p := filepath.Join(d, filepath.Base(tail))
		b, _ := os.ReadFile(p)
		b[pos] ^= 1 << (pos % 8)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		damaged := wholeBatchesBefore(ends, pos)
		checkRecovered(t, d, opts, tailBase+int64(damaged), "flip")
	}
}

// TestCorruptSealedSegmentNeverServed damages a batch in a trusted, sealed
// segment: reads of it fail with ErrCorrupt instead of returning records.
func TestCorruptSealedSegmentNeverServed(t *testing.T) {
	opts := Options{SegmentBytes: 1200}
	dir := t.TempDir()
	l := openLog(t, dir, opts)
	appendN(t, l, 0, 30)
	_ = l.Close()
	first := segmentName(dir, 0, ".log")
	b, _ := os.ReadFile(first)
	b[batch.HeaderSize+5] ^= 0x10 // inside the first batch's records
	_ = os.WriteFile(first, b, 0o644)

	l2 := openLog(t, dir, opts)
	if l2.EndOffset() != 31-1 {
		t.Fatalf("sealed segment damage changed the end: %d", l2.EndOffset())
	}
	recs, err := l2.ReadRecords(0, 100000, nil)
	if !errors.Is(err, ErrCorrupt) || len(recs) != 0 {
		t.Fatalf("corrupt batch: %d records, err %v", len(recs), err)
	}
	if recs, err := l2.ReadRecords(1, 100, nil); err != nil || recs[0].Offset != 1 {
		t.Fatalf("next batch: %v", err)
	}
}

// TestUnfinalizedSealedSegment simulates a crash between rolling and
// finalizing: index files missing and the sealed file still preallocated.
func TestUnfinalizedSealedSegment(t *testing.T) {
	opts := Options{SegmentBytes: 1200}
	dir := t.TempDir()
	l := openLog(t, dir, opts)
	appendN(t, l, 0, 30)
	_ = l.Close()
	_ = os.Remove(segmentName(dir, 0, ".index"))
	if err := os.Truncate(segmentName(dir, 0, ".log"), 1200*4); err != nil { // zero tail again
		t.Fatal(err)
	}
	checkRecovered(t, dir, opts, 30, "unfinalized")
	if _, err := os.Stat(segmentName(dir, 0, ".index")); err != nil {
		t.Fatalf("index not rebuilt: %v", err)
	}
}
