package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
)

// testClock is an injected clock moved by hand.
type testClock struct{ ms atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ms.Store(1_700_000_000_000)
	return c
}
func (c *testClock) Now() time.Time          { return time.UnixMilli(c.ms.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

func openLog(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func value(i int) []byte {
	return fmt.Appendf(nil, "value-%06d-%s", i, bytes.Repeat([]byte{'x'}, i%50))
}

// appendN appends n one-record batches with values value(first..) and waits.
func appendN(t testing.TB, l *Log, first, n int) {
	t.Helper()
	for i := first; i < first+n; i++ {
		a, err := l.Append([]batch.Record{{Key: []byte("k"), Value: value(i)}})
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		if err := a.Wait(context.Background()); err != nil {
			t.Fatalf("Wait %d: %v", i, err)
		}
	}
}

func readAll(t testing.TB, l *Log, from int64) []batch.Record {
	t.Helper()
	var out []batch.Record
	for from < l.EndOffset() {
		recs, err := l.ReadRecords(from, 1000, nil)
		if err != nil {
			t.Fatalf("ReadRecords(%d): %v", from, err)
		}
		if len(recs) == 0 {
			t.Fatalf("ReadRecords(%d) returned nothing before end %d", from, l.EndOffset())
		}
		out = append(out, recs...)
		from = recs[len(recs)-1].Offset + 1
	}
	return out
}

func checkValues(t testing.TB, recs []batch.Record, firstOffset int64, firstValue int) {
	t.Helper()
	for i, r := range recs {
		if r.Offset != firstOffset+int64(i) || !bytes.Equal(r.Value, value(firstValue+i)) {
			t.Fatalf("record %d: offset %d value %q, want offset %d value %q", i, r.Offset, r.Value, firstOffset+int64(i), value(firstValue+i))
		}
	}
}

func TestAppendReadRestart(t *testing.T) {
	dir := t.TempDir()
	clk := newTestClock()
	opts := Options{SegmentBytes: 4096, IndexIntervalBytes: 256, Now: clk.Now}
	l := openLog(t, dir, opts)
	if l.StartOffset() != 0 || l.EndOffset() != 0 {
		t.Fatalf("empty log: start %d end %d", l.StartOffset(), l.EndOffset())
	}
	if raw, err := l.Read(0, 100); raw != nil || err != nil {
		t.Fatalf("Read at end: %v %v", raw, err)
	}
	appendN(t, l, 0, 300)
	a, err := l.Append([]batch.Record{{Value: []byte("a")}, {Value: []byte("b"), Timestamp: 5}})
	if err != nil || a.Base != 300 || a.End != 302 {
		t.Fatalf("multi-record append: %+v %v", a, err)
	}
	if err := a.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := l.Stats()
	if st.Segments < 5 || st.EndOffset != 302 || st.Appends != 301 || st.AppendedRecords != 302 {
		t.Fatalf("stats %+v", st)
	}
	recs := readAll(t, l, 0)
	checkValues(t, recs[:300], 0, 0)
	if recs[300].Timestamp != clk.Now().UnixMilli() || recs[301].Timestamp != 5 {
		t.Fatalf("timestamps %d %d", recs[300].Timestamp, recs[301].Timestamp)
	}
	// Reads from the middle drop earlier records of the first batch.
	mid, err := l.ReadRecords(301, 1, nil)
	if err != nil || len(mid) != 1 || mid[0].Offset != 301 {
		t.Fatalf("ReadRecords(301): %+v %v", mid, err)
	}
	if _, err := l.Read(303, 10); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read past end: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append([]batch.Record{{Value: []byte("x")}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}

	l2 := openLog(t, dir, opts)
	if l2.EndOffset() != 302 || l2.Stats().Segments != st.Segments {
		t.Fatalf("after restart: end %d segments %d, want 302 %d", l2.EndOffset(), l2.Stats().Segments, st.Segments)
	}
	checkValues(t, readAll(t, l2, 0)[:300], 0, 0)
	appendN(t, l2, 302, 10)
	checkValues(t, readAll(t, l2, 302), 302, 302)
}

func TestReadReturnsWholeBatches(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{})
	big := bytes.Repeat([]byte("B"), 10000)
	for range 3 {
		a, _ := l.Append([]batch.Record{{Value: big}})
		_ = a.Wait(context.Background())
	}
	raw, err := l.Read(0, 10) // smaller than one batch: still one whole batch
	if err != nil {
		t.Fatal(err)
	}
	h, err := batch.Verify(raw)
	if err != nil || h.BaseOffset != 0 {
		t.Fatalf("one batch expected: %v", err)
	}
	raw, _ = l.Read(1, 25000) // two batches fit, the third does not
	if h1, _ := batch.ParseHeader(raw); h1.BaseOffset != 1 || len(raw) != 2*h1.Size() {
		t.Fatalf("got %d bytes starting at %d", len(raw), h1.BaseOffset)
	}
}

func TestAppendBatchKeepsProducerBytes(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{})
	appendN(t, l, 0, 3)
	for _, c := range []batch.Compression{batch.None, batch.Gzip, batch.Snappy, batch.LZ4, batch.Zstd} {
		recs := []batch.Record{{Timestamp: 42, Key: []byte("k"), Value: []byte("v1"), Headers: []batch.Header{{Key: "h", Value: []byte("x")}}}, {Timestamp: 43, Value: []byte("v2")}}
		raw, err := batch.Append(nil, 0, recs, batch.EncodeOptions{Compression: c, ProducerID: 9, BaseSequence: 4})
		if err != nil {
			t.Fatal(err)
		}
		end := l.EndOffset()
		a, err := l.AppendBatch(raw)
		if err != nil || a.Base != end || a.End != end+2 {
			t.Fatalf("%v: AppendBatch %+v %v", c, a, err)
		}
		if err := a.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		stored, err := l.Read(a.Base, 1)
		if err != nil {
			t.Fatal(err)
		}
		batch.SetBaseOffset(raw, a.Base)
		if !bytes.Equal(stored, raw) {
			t.Fatalf("%v: stored batch differs from the producer's", c)
		}
		got, err := l.ReadRecords(a.Base, 1, nil)
		if err != nil || len(got) != 2 || string(got[1].Value) != "v2" || got[0].Headers[0].Key != "h" || got[1].Timestamp != 43 {
			t.Fatalf("%v: decoded %+v %v", c, got, err)
		}
	}
	good, _ := batch.Append(nil, 0, []batch.Record{{Value: []byte("x")}}, batch.EncodeOptions{})
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 1
	if _, err := l.AppendBatch(bad); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("corrupt producer batch: %v", err)
	}
	if _, err := l.Append(nil); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty append: %v", err)
	}
}

func TestChangedFiresOnAppend(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{})
	ch := l.Changed()
	select {
	case <-ch:
		t.Fatal("Changed closed before any append")
	default:
	}
	a, _ := l.Append([]batch.Record{{Value: []byte("x")}})
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("Changed not closed after append")
	}
	_ = a.Wait(context.Background())
	if l.EndOffset() != 1 {
		t.Fatalf("end %d", l.EndOffset())
	}
	ch = l.Changed()
	_ = l.Close()
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed by Close")
	}
}

func TestStartOffsetAndRetention(t *testing.T) {
	dir := t.TempDir()
	clk := newTestClock()
	opts := Options{SegmentBytes: 2048, Now: clk.Now, RetentionAge: time.Hour}
	l := openLog(t, dir, opts)
	appendN(t, l, 0, 50)
	clk.Advance(2 * time.Hour)
	appendN(t, l, 50, 50)
	segs := l.Stats().Segments

	if err := l.SetStartOffset(30); err != nil { // past the first segment (about 20 records)
		t.Fatal(err)
	}
	if l.StartOffset() != 30 || l.Stats().Segments >= segs {
		t.Fatalf("start %d segments %d (were %d)", l.StartOffset(), l.Stats().Segments, segs)
	}
	if _, err := l.Read(29, 10); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below start: %v", err)
	}
	checkValues(t, readAll(t, l, 30), 30, 30)
	if err := l.SetStartOffset(101); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("start beyond end: %v", err)
	}
	if err := l.SetStartOffset(5); err != nil || l.StartOffset() != 30 {
		t.Fatalf("moving start back: %v, start %d", err, l.StartOffset())
	}

	// Segments holding only the old records expire; the one that holds
	// offset 50 (new timestamps) and later ones stay.
	if err := l.EnforceRetention(); err != nil {
		t.Fatal(err)
	}
	start := l.StartOffset()
	if start <= 30 || start > 50 {
		t.Fatalf("start after age retention %d", start)
	}
	checkValues(t, readAll(t, l, 50), 50, 50)

	// Restart keeps the durable start (meta) and the deletions.
	_ = l.Close()
	l2 := openLog(t, dir, opts)
	if l2.StartOffset() != start || l2.EndOffset() != 100 {
		t.Fatalf("after restart start %d end %d, want %d 100", l2.StartOffset(), l2.EndOffset(), start)
	}
	if err := l2.SetStartOffset(100); err != nil {
		t.Fatal(err)
	}
	if l2.Stats().Segments != 1 || l2.EndOffset() != 100 {
		t.Fatalf("all below end: %+v", l2.Stats())
	}
	appendN(t, l2, 100, 1)
}

func TestRetentionBytesKeepsActiveSegment(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{SegmentBytes: 1024, RetentionBytes: 3000})
	appendN(t, l, 0, 100)
	if err := l.EnforceRetention(); err != nil {
		t.Fatal(err)
	}
	st := l.Stats()
	if st.SizeBytes > 3000+1100 || st.SizeBytes < 3000 || st.EndOffset != 100 || st.Segments > 5 {
		t.Fatalf("after size retention: %+v", st)
	}
	checkValues(t, readAll(t, l, st.StartOffset), st.StartOffset, int(st.StartOffset))
}

func TestOffsetForTime(t *testing.T) {
	clk := newTestClock()
	l := openLog(t, t.TempDir(), Options{SegmentBytes: 1500, IndexIntervalBytes: 200, Now: clk.Now})
	t0 := clk.Now().UnixMilli()
	for i := range 60 {
		appendN(t, l, i, 1)
		clk.Advance(time.Second)
	}
	for _, c := range []struct{ ts, want int64 }{
		{t0 - 5, 0}, {t0, 0}, {t0 + 1, 1}, {t0 + 30_000, 30}, {t0 + 29_500, 30}, {t0 + 59_000, 59}, {t0 + 60_000, 60},
	} {
		got, err := l.OffsetForTime(c.ts)
		if err != nil || got != c.want {
			t.Fatalf("OffsetForTime(t0%+d) = %d, %v; want %d", c.ts-t0, got, err, c.want)
		}
	}
	if err := l.SetStartOffset(40); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.OffsetForTime(t0); got != 40 {
		t.Fatalf("OffsetForTime below start = %d, want 40", got)
	}
}

func TestSyncNeverSeesWrittenData(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{Sync: SyncNever, SegmentBytes: 4096})
	for i := range 100 {
		a, err := l.Append([]batch.Record{{Value: value(i)}})
		if err != nil {
			t.Fatal(err)
		}
		if l.EndOffset() != a.End {
			t.Fatalf("end %d right after append, want %d", l.EndOffset(), a.End)
		}
	}
	checkValues(t, readAll(t, l, 0), 0, 0)
	_ = l.Close()
	checkValues(t, readAll(t, openLog(t, dir, Options{Sync: SyncInterval, SegmentBytes: 4096}), 0), 0, 0)
}

func TestRemoveDeletesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p0")
	l := openLog(t, dir, Options{})
	appendN(t, l, 0, 3)
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("directory still there: %v", err)
	}
}

func TestSetRetentionAppliesToAnOpenLog(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{SegmentBytes: 1024})
	appendN(t, l, 0, 100)
	if err := l.EnforceRetention(); err != nil || l.StartOffset() != 0 {
		t.Fatalf("without limits retention removed data: start %d, %v", l.StartOffset(), err)
	}
	l.SetRetention(0, 3000)
	if err := l.EnforceRetention(); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.StartOffset == 0 || st.SizeBytes > 3000+1100 {
		t.Fatalf("after SetRetention(0, 3000): %+v", st)
	}
}
