package storage

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gannet-mq/gannet/internal/batch"
)

func segmentFileSize(t *testing.T, dir string) int64 {
	t.Helper()
	info, err := os.Stat(filepath.Join(dir, "00000000000000000000.log"))
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// appendKiB appends n records of 1 KiB and waits for the last one.
func appendKiB(t *testing.T, l *Log, n int) {
	t.Helper()
	var last Appended
	for i := 0; i < n; i++ {
		a, err := l.Append([]batch.Record{{Value: bytes.Repeat([]byte{byte(i)}, 1024)}})
		if err != nil {
			t.Fatal(err)
		}
		last = a
	}
	if err := last.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSegmentsReserveDiskAsTheyGrow(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 8 << 20}
	l := openLog(t, dir, opts)
	appendKiB(t, l, 1)
	if size := segmentFileSize(t, dir); size != initialSegmentAllocation {
		t.Fatalf("a new segment's file is %d bytes, want the initial %d", size, initialSegmentAllocation)
	}
	appendKiB(t, l, 2500) // about 2.6 MB: two doublings
	if size := segmentFileSize(t, dir); size != 4<<20 {
		t.Fatalf("after 2.6 MB the file is %d bytes, want 4 MiB", size)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// A restart keeps the allocation and appends after the data, not after
	// the zeros; the file grows again from there.
	l2 := openLog(t, dir, opts)
	if l2.EndOffset() != 2501 {
		t.Fatalf("end after restart %d, want 2501", l2.EndOffset())
	}
	appendKiB(t, l2, 3000)
	if size := segmentFileSize(t, dir); size != 8<<20 {
		t.Fatalf("after 5.7 MB the file is %d bytes, want the 8 MiB cap", size)
	}
	recs := readAll(t, l2, 0)
	if len(recs) != 5501 {
		t.Fatalf("read %d records, want 5501", len(recs))
	}
	for i, r := range recs {
		if len(r.Value) != 1024 || r.Offset != int64(i) {
			t.Fatalf("record %d: offset %d, %d bytes", i, r.Offset, len(r.Value))
		}
	}
}
