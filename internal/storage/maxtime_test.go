package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gannet-mq/gannet/internal/batch"
)

// appendTimes appends one batch holding a record per timestamp and waits.
func appendTimes(t testing.TB, l *Log, times ...int64) {
	t.Helper()
	recs := make([]batch.Record, len(times))
	for i, ts := range times {
		recs[i] = batch.Record{Timestamp: ts, Value: value(int(ts))}
	}
	a, err := l.Append(recs)
	if err != nil {
		t.Fatalf("Append %v: %v", times, err)
	}
	if err := a.Wait(context.Background()); err != nil {
		t.Fatalf("Wait %v: %v", times, err)
	}
}

// checkMaxTimestamp compares MaxTimestamp, and OffsetForTime of it, with a
// scan of every readable record, and with the answer the test expects.
func checkMaxTimestamp(t *testing.T, l *Log, wantTS, wantOffset int64, what string) {
	t.Helper()
	var scanTS, scanOffset int64 = -1, -1
	for _, r := range readAll(t, l, l.StartOffset()) {
		if scanOffset < 0 || r.Timestamp > scanTS {
			scanTS, scanOffset = r.Timestamp, r.Offset
		}
	}
	if scanTS != wantTS || scanOffset != wantOffset {
		t.Fatalf("%s: the records' largest timestamp is %d at %d; the test expects %d at %d", what, scanTS, scanOffset, wantTS, wantOffset)
	}
	ts, ok, err := l.MaxTimestamp()
	if err != nil || ok != (wantOffset >= 0) || ok && ts != wantTS {
		t.Fatalf("%s: MaxTimestamp = %d, %v, %v; want %d at %d", what, ts, ok, err, wantTS, wantOffset)
	}
	if !ok {
		return
	}
	if off, err := l.OffsetForTime(ts); err != nil || off != wantOffset {
		t.Fatalf("%s: OffsetForTime(%d) = %d, %v; want %d", what, ts, off, err, wantOffset)
	}
}

// maxTimeOf is the timestamp of record i in TestMaxTimestampAcrossSegments:
// ordinary ones in 1000..1499, out of order, with a maximum planted twice
// and a runner-up later on.
func maxTimeOf(i int) int64 {
	switch i {
	case 7, 60:
		return 5000
	case 80:
		return 4000
	}
	return 1000 + int64(i*37%500)
}

func TestMaxTimestampAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 1024, IndexIntervalBytes: 128}
	l := openLog(t, dir, opts)
	checkMaxTimestamp(t, l, -1, -1, "empty log")
	const n = 120 // the active segment starts well after offset 80
	for i := range n {
		appendTimes(t, l, maxTimeOf(i))
	}
	if segs := l.Stats().Segments; segs < 6 {
		t.Fatalf("only %d segments; the test needs several", segs)
	}
	checkMaxTimestamp(t, l, 5000, 7, "all records")

	// Retention drops the oldest segment at a time; the answer moves to the
	// later tie, then to the runner-up, then to the ordinary records.
	var passed7, passed60 bool
	for l.StartOffset() <= 80 {
		before := l.StartOffset()
		l.mu.Lock()
		var total int64
		for _, s := range l.segments {
			total += s.visible
		}
		oldest := l.segments[0].visible
		l.mu.Unlock()
		l.SetRetention(0, total-oldest) // just the oldest segment too many
		if err := l.EnforceRetention(); err != nil {
			t.Fatal(err)
		}
		start := l.StartOffset()
		if start <= before {
			t.Fatalf("retention kept start %d", start)
		}
		switch {
		case start <= 7:
			checkMaxTimestamp(t, l, 5000, 7, "after retention")
		case start <= 60:
			passed7 = true
			checkMaxTimestamp(t, l, 5000, 60, "after retention past offset 7")
		case start <= 80:
			passed60 = true
			checkMaxTimestamp(t, l, 4000, 80, "after retention past offset 60")
		}
	}
	if !passed7 || !passed60 {
		t.Fatalf("retention never stopped between the planted records (%v %v)", passed7, passed60)
	}
	var wantTS, wantOffset int64 = -1, -1
	for i := int(l.StartOffset()); i < n; i++ {
		if maxTimeOf(i) > wantTS {
			wantTS, wantOffset = maxTimeOf(i), int64(i)
		}
	}
	checkMaxTimestamp(t, l, wantTS, wantOffset, "after retention past offset 80")

	// Reopened, sealed segments get their maxima from the time index; and
	// with the index files gone, from a rescan.
	appendTimes(t, l, 4500)
	appendTimes(t, l, 4500)
	_ = l.Close()
	l = openLog(t, dir, opts)
	checkMaxTimestamp(t, l, 4500, n, "reopened")
	appendTimes(t, l, 100)
	_ = l.Close()
	idx, err := filepath.Glob(filepath.Join(dir, "*index"))
	if err != nil || len(idx) == 0 {
		t.Fatalf("index files: %v %v", idx, err)
	}
	for _, f := range idx {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	l = openLog(t, dir, opts)
	checkMaxTimestamp(t, l, 4500, n, "reopened without index files")
	appendTimes(t, l, 4501)
	checkMaxTimestamp(t, l, 4501, n+3, "appended after reopening")
}

// A start inside a segment, even inside a batch, hides the records below
// it from the answer (DeleteRecords); so does an empty log after it.
func TestMaxTimestampFromCutStart(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	appendTimes(t, l, 100, 9000, 200, 300) // offsets 0-3, one batch
	appendTimes(t, l, 400)
	appendTimes(t, l, 250)
	checkMaxTimestamp(t, l, 9000, 1, "whole log")
	for _, c := range []struct{ start, wantTS, wantOffset int64 }{
		{1, 9000, 1}, {2, 400, 4}, {5, 250, 5}, {6, -1, -1},
	} {
		if err := l.SetStartOffset(c.start); err != nil {
			t.Fatal(err)
		}
		checkMaxTimestamp(t, l, c.wantTS, c.wantOffset, fmt.Sprintf("start %d", c.start))
		if c.start == 2 { // the start is durable
			_ = l.Close()
			l = openLog(t, dir, Options{})
			checkMaxTimestamp(t, l, c.wantTS, c.wantOffset, "start 2 reopened")
		}
	}
}

// Batches appended but not yet fsynced are not readable, so they do not
// count until they are.
func TestMaxTimestampWaitsForFsync(t *testing.T) {
	fs := &faultyFS{}
	var gate atomic.Pointer[chan struct{}]
	l := openLog(t, t.TempDir(), Options{IndexIntervalBytes: 128, OpenFile: func(name string, flag int, perm os.FileMode) (File, error) {
		f, err := fs.open(name, flag, perm)
		return &blockingFile{File: f, gate: &gate}, err
	}})
	for i := range 20 {
		appendTimes(t, l, 1000+int64(i%7)*10) // largest 1060, first at offset 6
	}
	block := make(chan struct{})
	release := sync.OnceFunc(func() { close(block) })
	defer release() // a failed check must not leave Close waiting on the fsync
	gate.Store(&block)
	a, err := l.Append([]batch.Record{{Timestamp: 9000, Value: []byte("late")}})
	if err != nil {
		t.Fatal(err)
	}
	checkMaxTimestamp(t, l, 1060, 6, "before the fsync")
	release()
	if err := a.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkMaxTimestamp(t, l, 9000, 20, "after the fsync")
}

// A start cut into a segment can hide that segment's largest timestamp:
// OffsetForTime then goes on to the later segment that holds it, instead
// of answering EndOffset after finding nothing in the cut one.
func TestMaxTimestampCutSegmentHidesItsMaximum(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{SegmentBytes: 1024})
	appendTimes(t, l, 9000) // offset 0: the first segment's maximum
	for l.Stats().Segments < 3 {
		appendTimes(t, l, 100)
	}
	tie := l.EndOffset()
	appendTimes(t, l, 9000, 100)
	if err := l.SetStartOffset(1); err != nil {
		t.Fatal(err)
	}
	checkMaxTimestamp(t, l, 9000, tie, "start 1, a tie in a later segment")
	if off, err := l.OffsetForTime(5000); err != nil || off != tie {
		t.Fatalf("OffsetForTime(5000) = %d, %v; want %d", off, err, tie)
	}
}
