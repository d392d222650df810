package storage

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
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

// writeRecorder records the writes to segment files: where data ended and
// where the zero-fill ahead of it ended, and any zero write that landed
// below data already written.
type writeRecorder struct {
	mu                 sync.Mutex
	dataEnd, zeroedEnd int64
	overlaps           int
}

func (r *writeRecorder) open(name string, flag int, perm os.FileMode) (File, error) {
	f, err := OpenOSFile(name, flag, perm)
	if err != nil || filepath.Ext(name) != ".log" {
		return f, err
	}
	return &recordingFile{File: f, r: r}, nil
}

type recordingFile struct {
	File
	r *writeRecorder
}

func (f *recordingFile) WriteAt(p []byte, off int64) (int, error) {
	f.r.mu.Lock()
	if len(p) > 0 && &p[0] == &zeroChunk[0] {
		if off < f.r.dataEnd {
			f.r.overlaps++
		}
		f.r.zeroedEnd = max(f.r.zeroedEnd, off+int64(len(p)))
	} else {
		f.r.dataEnd = max(f.r.dataEnd, off+int64(len(p)))
	}
	f.r.mu.Unlock()
	return f.File.WriteAt(p, off)
}

func TestZeroFillStaysAheadOfTheData(t *testing.T) {
	rec := &writeRecorder{}
	const segmentBytes = 4 << 20
	l := openLog(t, t.TempDir(), Options{SegmentBytes: segmentBytes, OpenFile: rec.open})
	for i := 0; i < 30; i++ {
		appendKiB(t, l, 100) // about 100 KiB per round, 3 MiB in all
		rec.mu.Lock()
		data, zeroed, overlaps := rec.dataEnd, rec.zeroedEnd, rec.overlaps
		rec.mu.Unlock()
		if overlaps > 0 {
			t.Fatalf("round %d: %d zero writes landed on data", i, overlaps)
		}
		if want := min(data+zeroAheadBytes/2, segmentBytes); zeroed < want || zeroed > data+3*zeroAheadBytes/2 {
			t.Fatalf("round %d: data ends at %d, zeros at %d; want zeros in [%d, %d]", i, data, zeroed, want, data+3*zeroAheadBytes/2)
		}
	}
}

// segmentWatch counts, or fails, what logs write to their segment files;
// its open is the logs' Options.OpenFile.
type segmentWatch struct {
	zeros        atomic.Int64 // bytes of zeroChunk written (zeroAhead)
	directWrites atomic.Int64
	failDirect   atomic.Bool // O_DIRECT writes fail while set
	// holdDirect, while set, holds every O_DIRECT write until the channel
	// is closed.
	holdDirect atomic.Pointer[chan struct{}]
}

// open opens files as the OS does and watches the segment files (.log).
func (w *segmentWatch) open(name string, flag int, perm os.FileMode) (File, error) {
	f, err := OpenOSFile(name, flag, perm)
	if err != nil || filepath.Ext(name) != ".log" {
		return f, err
	}
	return &watchedFile{directFile: f.(directFile), w: w}, nil
}

type watchedFile struct {
	directFile
	w *segmentWatch
}

func (f *watchedFile) countZeros(p []byte) {
	if len(p) > 0 && &p[0] == &zeroChunk[0] {
		f.w.zeros.Add(int64(len(p)))
	}
}

func (f *watchedFile) WriteAt(p []byte, off int64) (int, error) {
	f.countZeros(p)
	return f.directFile.WriteAt(p, off)
}

func (f *watchedFile) WriteDirect(p []byte, off int64) (int, error) {
	if f.w.failDirect.Load() {
		return 0, errors.New("injected write failure")
	}
	if hold := f.w.holdDirect.Load(); hold != nil {
		<-*hold
	}
	f.countZeros(p)
	f.w.directWrites.Add(1)
	return f.directFile.WriteDirect(p, off)
}

// TestSharingLogDoesNotZeroFill: direct rounds into a segment that rounds
// through the commit log wrote do not zero-fill ahead (write-outs do not
// either, so the zeros would only add to what the device writes).
func TestSharingLogDoesNotZeroFill(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	var watch segmentWatch
	c, l := openShared(t, root, true, Options{OpenFile: watch.open})
	defer closeShared(t, c, l)
	appendN(t, l, 0, 5)
	if st := l.Stats(); st.Syncs != 0 {
		t.Fatalf("%d rounds of its own, want all five through the commit log", st.Syncs)
	}
	large := func() { // one batch over commitRoundMax: a direct round
		recs := make([]batch.Record, 100)
		for i := range recs {
			recs[i].Value = bytes.Repeat([]byte{byte(i)}, 1024)
		}
		a, err := l.Append(recs)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Lone rounds come and go among shared ones (a Kafka produce whose
	// other partitions' rounds are under way): none of them zero-fills a
	// segment that write-outs fill.
	large()
	large()
	if n := watch.zeros.Load(); n != 0 {
		t.Fatalf("direct rounds after shared ones zero-filled %d bytes", n)
	}
	if st := l.Stats(); st.Syncs != 2 {
		t.Fatalf("%d rounds of its own, want the two large ones", st.Syncs)
	}
}
