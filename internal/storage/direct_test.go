package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
	"golang.org/x/sys/unix"
)

const tsBase = 1_700_000_000_000

// payload is the value of the record at offset off: size bytes of a pattern
// that depends on the offset, so a byte from the wrong place shows.
func payload(off int64, size int) []byte {
	b := make([]byte, size)
	for j := range b {
		b[j] = byte(off*131 + int64(j)*7 + int64(j>>8))
	}
	return b
}

// sizedRecord is the record stored at off; its key names the offset and
// size, so checkSized needs nothing else.
func sizedRecord(off int64, size int) batch.Record {
	return batch.Record{Timestamp: tsBase + off, Key: fmt.Appendf(nil, "%d/%d", off, size), Value: payload(off, size)}
}

func checkSized(recs []batch.Record, first int64) error {
	for i, r := range recs {
		var off int64
		var size int
		if _, err := fmt.Sscanf(string(r.Key), "%d/%d", &off, &size); err != nil ||
			off != first+int64(i) || r.Offset != off || r.Timestamp != tsBase+off || !bytes.Equal(r.Value, payload(off, size)) {
			return fmt.Errorf("record %d: offset %d key %q timestamp %d, %d value bytes: not what was appended at %d",
				i, r.Offset, r.Key, r.Timestamp, len(r.Value), first+int64(i))
		}
	}
	return nil
}

// irregularSizes returns n value sizes from 1 byte to 100 KiB, so flush
// rounds end at unaligned positions.
func irregularSizes(seed uint64, n int) []int {
	r := rand.New(rand.NewPCG(seed, 7))
	sizes := make([]int, n)
	for i := range sizes {
		switch r.IntN(3) {
		case 0:
			sizes[i] = 1 + r.IntN(64)
		case 1:
			sizes[i] = 1 + r.IntN(4096)
		default:
			sizes[i] = 1 + r.IntN(100<<10)
		}
	}
	return sizes
}

// appendSized appends one record per size from offset first, waiting after
// groups of one to four appends so rounds cover several batches.
func appendSized(t testing.TB, l *Log, first int64, sizes []int) {
	t.Helper()
	groups := rand.New(rand.NewPCG(uint64(first), 3))
	var last Appended
	for i, size := range sizes {
		off := first + int64(i)
		a, err := l.Append([]batch.Record{sizedRecord(off, size)})
		if err != nil || a.Base != off {
			t.Fatalf("Append at %d: %+v %v", off, a, err)
		}
		last = a
		if groups.IntN(4) == 0 || i == len(sizes)-1 {
			if err := last.Wait(context.Background()); err != nil {
				t.Fatalf("Wait at %d: %v", off, err)
			}
		}
	}
}

func activeSegment(l *Log) *segment {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.segments[len(l.segments)-1]
}

// dataEnd returns the active segment's base and the bytes of data in it.
func dataEnd(l *Log) (base, size int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.segments[len(l.segments)-1]
	return s.base, s.size
}

// sameRecords checks that a and b hold the same, correct records.
func sameRecords(t *testing.T, a, b *Log, want int64) {
	t.Helper()
	ra, rb := readAll(t, a, 0), readAll(t, b, 0)
	if int64(len(ra)) != want || len(rb) != len(ra) {
		t.Fatalf("read %d and %d records, want %d", len(ra), len(rb), want)
	}
	if err := checkSized(ra, 0); err != nil {
		t.Fatal(err)
	}
	if err := checkSized(rb, 0); err != nil {
		t.Fatal(err)
	}
}

// sameFiles checks that two closed logs have the same segment files, byte
// for byte, except that the active segment (base, with size bytes of data)
// may differ in its zero padding past the data.
func sameFiles(t *testing.T, dirA, dirB string, base, size int64) {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dirA, "*.log"))
	namesB, _ := filepath.Glob(filepath.Join(dirB, "*.log"))
	if len(names) != len(namesB) || len(names) < 3 {
		t.Fatalf("%d and %d segment files; want the same number, at least 3", len(names), len(namesB))
	}
	for _, name := range names {
		a, errA := os.ReadFile(name)
		b, errB := os.ReadFile(filepath.Join(dirB, filepath.Base(name)))
		if errA != nil || errB != nil {
			t.Fatalf("%v %v", errA, errB)
		}
		if filepath.Base(name) != filepath.Base(segmentName("", base, ".log")) {
			if !bytes.Equal(a, b) {
				t.Fatalf("sealed segment %s differs (%d and %d bytes)", filepath.Base(name), len(a), len(b))
			}
			continue
		}
		if int64(len(a)) < size || int64(len(b)) < size || !bytes.Equal(a[:size], b[:size]) {
			t.Fatalf("active segment %s: data differs (files %d and %d bytes, data %d)", filepath.Base(name), len(a), len(b), size)
		}
		if i := bytes.IndexFunc(a[size:], func(r rune) bool { return r != 0 }); i >= 0 {
			t.Fatalf("active segment %s: nonzero byte %d past the data in %s", filepath.Base(name), size+int64(i), dirA)
		}
		if i := bytes.IndexFunc(b[size:], func(r rune) bool { return r != 0 }); i >= 0 {
			t.Fatalf("active segment %s: nonzero byte %d past the data in %s", filepath.Base(name), size+int64(i), dirB)
		}
	}
}

// skipWithoutDirectIO skips the test where the test's file system refuses
// O_DIRECT (tmpfs on older kernels), at open or on an aligned 4 KiB write
// (file systems with larger blocks): the log falls back to buffered writes
// there, which the other tests cover.
func skipWithoutDirectIO(t *testing.T, dir string) {
	t.Helper()
	f, err := OpenOSFile(filepath.Join(dir, "probe"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(filepath.Join(dir, "probe"))
	defer f.Close()
	d := f.(directFile)
	err = d.OpenDirect()
	if err == nil {
		_, err = d.WriteDirect(alignedBuffer(directAlign), 0)
	}
	if err != nil {
		t.Skipf("O_DIRECT not supported on the test's file system (%s): %v", dir, err)
	}
}

// TestDirectAndBufferedLogsAreIdentical writes the same irregular batches
// across many segment rolls with O_DIRECT (group commit) and through the page
// cache (group commit and SyncNever's write-per-append): reads, recovery and
// the files' data bytes must agree, also after a reopen makes the flusher
// read back a partial block.
func TestDirectAndBufferedLogsAreIdentical(t *testing.T) {
	skipWithoutDirectIO(t, t.TempDir())
	modes := []struct {
		name string
		opts Options
	}{
		{"buffered", Options{BufferedIO: true}},
		{"direct", Options{}},
		{"syncnever", Options{Sync: SyncNever}}, // buffered: see enableDirect
	}
	sizes := irregularSizes(1, 330)
	phase1, phase2 := sizes[:250], sizes[250:]
	dirs := make([]string, len(modes))
	logs := make([]*Log, len(modes))
	for i, m := range modes {
		m.opts.SegmentBytes = 256 << 10
		modes[i].opts = m.opts
		dirs[i] = t.TempDir()
		logs[i] = openLog(t, dirs[i], m.opts)
		appendSized(t, logs[i], 0, phase1)
	}
	if activeSegment(logs[1]).direct == nil || activeSegment(logs[0]).direct != nil || activeSegment(logs[2]).direct != nil {
		t.Fatal("the direct log does not write with O_DIRECT, or a buffered or SyncNever one does")
	}
	check := func(when string, end int64) {
		t.Helper()
		base, size := dataEnd(logs[0])
		for i := 1; i < len(logs); i++ {
			sameRecords(t, logs[0], logs[i], end)
		}
		for i := range logs {
			if err := logs[i].Close(); err != nil {
				t.Fatalf("%s: Close %s: %v", when, modes[i].name, err)
			}
		}
		for i := 1; i < len(logs); i++ {
			sameFiles(t, dirs[0], dirs[i], base, size)
		}
		for i := range logs { // recovery rescans the tail
			logs[i] = openLog(t, dirs[i], modes[i].opts)
			if i > 0 {
				sameRecords(t, logs[0], logs[i], end)
			}
		}
	}
	check("first run", int64(len(phase1)))
	for i := range logs {
		appendSized(t, logs[i], int64(len(phase1)), phase2)
	}
	check("after reopen", int64(len(sizes)))
}

// TestDirectIOIsUsed checks that on the test's file system (ext4 here) a
// log's segments really are written through an O_DIRECT descriptor, that
// the ring holds the newest bytes as written and the file's last block is
// padded with zeros, and that BufferedIO turns all of it off.
func TestDirectIOIsUsed(t *testing.T) {
	dir := t.TempDir()
	skipWithoutDirectIO(t, dir)
	l := openLog(t, dir, Options{SegmentBytes: 256 << 10, IdleRelease: time.Hour})
	appendSized(t, l, 0, irregularSizes(2, 40))
	s := activeSegment(l)
	if s.direct == nil || s.base == 0 {
		t.Fatalf("active segment %d: direct %v; want a rolled segment written with O_DIRECT", s.base, s.direct)
	}
	osf, ok := s.direct.(*osFile)
	if !ok || osf.direct == nil {
		t.Fatalf("direct writer is %T, not an osFile with a direct descriptor", s.direct)
	}
	flags, err := unix.FcntlInt(osf.direct.Fd(), unix.F_GETFL, 0)
	if err != nil || flags&unix.O_DIRECT == 0 {
		t.Fatalf("direct descriptor flags %#x, %v: O_DIRECT not set", flags, err)
	}
	l.mu.Lock()
	for _, sealed := range l.segments[:len(l.segments)-1] { // finalized: never written again
		if sealed.direct != nil || sealed.file.(*osFile).direct != nil {
			t.Errorf("sealed segment %d keeps its O_DIRECT descriptor", sealed.base)
		}
	}
	l.mu.Unlock()
	v := checkRing(t, l, true) // the ring holds the newest bytes, as the file does
	file, err := os.ReadFile(s.path)
	if err != nil {
		t.Fatal(err)
	}
	if v.from >= v.to || v.from < alignDown(v.to)-int64(v.size) {
		t.Fatalf("ring window [%d, %d) of %d bytes", v.from, v.to, v.size)
	}
	if rest := file[v.to:alignUp(v.to)]; bytes.Count(rest, []byte{0}) != len(rest) {
		t.Fatal("the padding of the last block is not zeros")
	}

	b := openLog(t, t.TempDir(), Options{SegmentBytes: 256 << 10, BufferedIO: true})
	appendSized(t, b, 0, irregularSizes(2, 40))
	if s := activeSegment(b); s.direct != nil || s.file.(*osFile).direct != nil {
		t.Fatal("BufferedIO log opened a direct descriptor")
	}
	if v := checkRing(t, b, false); v.seg != nil || v.size != 0 {
		t.Fatalf("BufferedIO log has a ring of %d bytes", v.size)
	}
	if err := checkSized(readAll(t, b, 0), 0); err != nil {
		t.Fatal(err)
	}
}

// directFaultFS wraps real files in files that can write directly and fail
// those writes on demand: after allow more successful WriteDirect calls,
// every call fails with fail.
type directFaultFS struct {
	fail                 atomic.Pointer[error]
	allow                atomic.Int64
	directWrites, faults atomic.Int64
}

func (fs *directFaultFS) open(name string, flag int, perm os.FileMode) (File, error) {
	f, err := OpenOSFile(name, flag, perm)
	if err != nil || filepath.Ext(name) != ".log" { // segments only, not spares being zeroed
		return f, err
	}
	return &directFaultFile{File: f, directThrough: directThrough{f.(directFile)}, fs: fs}, nil
}

func (fs *directFaultFS) arm(err error, allow int64) {
	fs.allow.Store(allow)
	fs.fail.Store(&err)
}

type directFaultFile struct {
	File
	directThrough
	fs *directFaultFS
}

func (f *directFaultFile) WriteDirect(p []byte, off int64) (int, error) {
	if err := f.fs.fail.Load(); err != nil && f.fs.allow.Add(-1) < 0 {
		f.fs.faults.Add(1)
		return 0, *err
	}
	f.fs.directWrites.Add(1)
	return f.real.WriteDirect(p, off)
}

// TestDirectWriteEIOFailsLog: an I/O error from an O_DIRECT write puts the
// log in its failed state; nothing more is acknowledged, the ring is
// dropped, what was acknowledged stays readable and is exactly what
// recovery finds.
func TestDirectWriteEIOFailsLog(t *testing.T) {
	dir := t.TempDir()
	skipWithoutDirectIO(t, dir)
	fs := &directFaultFS{}
	l := openLog(t, dir, Options{OpenFile: fs.open, SegmentBytes: 256 << 10, IdleRelease: time.Hour})
	appendSized(t, l, 0, irregularSizes(3, 20))
	if fs.directWrites.Load() == 0 || activeSegment(l).direct == nil {
		t.Fatal("the log did not write through WriteDirect")
	}
	fs.arm(syscall.EIO, 0)
	for i := range 3 {
		a, err := l.Append([]batch.Record{sizedRecord(20+int64(i), 100)})
		if err == nil {
			err = a.Wait(context.Background())
		}
		if !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.EIO) {
			t.Fatalf("append %d after EIO: %v; want ErrFailed wrapping EIO", i, err)
		}
	}
	if fs.faults.Load() == 0 || l.EndOffset() != 20 || !l.Stats().Failed {
		t.Fatalf("faults %d, end %d, failed %v; want end 20 and failed", fs.faults.Load(), l.EndOffset(), l.Stats().Failed)
	}
	if v := checkRing(t, l, false); v.seg != nil {
		t.Fatal("the ring still serves a segment whose write failed")
	}
	if err := checkSized(readAll(t, l, 0), 0); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Close: %v", err)
	}
	r := openLog(t, dir, Options{SegmentBytes: 256 << 10})
	if r.EndOffset() != 20 {
		t.Fatalf("recovered end %d, want the 20 acknowledged records", r.EndOffset())
	}
	if err := checkSized(readAll(t, r, 0), 0); err != nil {
		t.Fatal(err)
	}
}

// TestDirectWriteEINVALFallsBack: a file system that accepts O_DIRECT at
// open but refuses the writes (EINVAL), here in the middle of a round
// larger than the ring, makes the log write through the page cache with
// the same data, in that segment and in every later one, without failing
// and without trying O_DIRECT again.
func TestDirectWriteEINVALFallsBack(t *testing.T) {
	dir := t.TempDir()
	skipWithoutDirectIO(t, dir)
	fs := &directFaultFS{}
	opts := Options{OpenFile: fs.open, SegmentBytes: 4 << 20}
	l := openLog(t, dir, opts)
	sizes := irregularSizes(4, 400)
	sizes[30] = 3<<20 + 5 // one round of more than the largest ring: two pieces
	appendSized(t, l, 0, sizes[:30])
	if fs.directWrites.Load() == 0 || checkRing(t, l, true).seg == nil {
		t.Fatal("no direct writes, or an empty ring, before the fault")
	}
	before := fs.directWrites.Load()
	fs.arm(unix.EINVAL, 1) // the first piece of the next round goes through
	appendSized(t, l, 30, sizes[30:])
	if fs.faults.Load() != 1 || fs.directWrites.Load() != before+1 || l.Stats().Failed {
		t.Fatalf("faults %d, direct writes after arming %d, failed %v: want one EINVAL after one piece and the log working",
			fs.faults.Load(), fs.directWrites.Load()-before, l.Stats().Failed)
	}
	l.mu.Lock()
	for _, s := range l.segments {
		if s.direct != nil || s.file.(*directFaultFile).File.(*osFile).direct != nil {
			t.Errorf("segment %d still writes directly, or keeps its O_DIRECT descriptor, after EINVAL", s.base)
		}
	}
	nsegs := len(l.segments)
	l.mu.Unlock()
	if nsegs < 3 {
		t.Fatalf("%d segments; want rolls after the fault", nsegs)
	}
	if v := checkRing(t, l, false); v.seg != nil {
		t.Fatalf("the ring still holds segment %d after the fallback", v.seg.base)
	}
	if err := checkSized(readAll(t, l, 0), 0); err != nil {
		t.Fatal(err)
	}
	// The same records written buffered give the same files.
	refDir := t.TempDir()
	ref := openLog(t, refDir, Options{BufferedIO: true, SegmentBytes: opts.SegmentBytes})
	appendSized(t, ref, 0, sizes[:30])
	appendSized(t, ref, 30, sizes[30:])
	base, size := dataEnd(l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ref.Close(); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, refDir, dir, base, size)
	r := openLog(t, dir, Options{SegmentBytes: opts.SegmentBytes})
	if r.EndOffset() != int64(len(sizes)) {
		t.Fatalf("recovered end %d, want %d", r.EndOffset(), len(sizes))
	}
	if err := checkSized(readAll(t, r, 0), 0); err != nil {
		t.Fatal(err)
	}
}
