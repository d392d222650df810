package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
	"github.com/gannet-mq/gannet/internal/testenv"
)

// fixedRecord is the record at off: every batch of one such record has the
// same size, so a recycled file's stale batches start exactly where the
// new ones do and only their offsets tell them apart.
func fixedRecord(off int64) batch.Record {
	return batch.Record{Timestamp: tsBase, Key: fmt.Appendf(nil, "%08d", off), Value: bytes.Repeat([]byte{byte(off)}, 1000)}
}

func appendFixed(t *testing.T, l *Log, from, n int64) {
	t.Helper()
	for off := from; off < from+n; off++ {
		a, err := l.Append([]batch.Record{fixedRecord(off)})
		if err != nil || a.Base != off {
			t.Fatalf("Append %d: base %d, %v", off, a.Base, err)
		}
		if err := a.Wait(context.Background()); err != nil {
			t.Fatalf("Wait %d: %v", off, err)
		}
	}
}

func checkFixed(t *testing.T, l *Log, from int64) {
	t.Helper()
	recs := readAll(t, l, from)
	for i, r := range recs {
		want := fixedRecord(from + int64(i))
		if r.Offset != from+int64(i) || !bytes.Equal(r.Key, want.Key) || !bytes.Equal(r.Value, want.Value) {
			t.Fatalf("record %d: offset %d key %q, want offset %d key %q", i, r.Offset, r.Key, from+int64(i), want.Key)
		}
	}
	if n := int64(len(recs)); from+n != l.EndOffset() {
		t.Fatalf("read %d records from %d, end is %d", n, from, l.EndOffset())
	}
}

func spareFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+spareExt))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Sys().(*syscall.Stat_t).Ino
}

// recycleOpts makes segments of seven fixed batches, two O_DIRECT blocks;
// spares stay until the test is done with them.
var recycleOpts = Options{SegmentBytes: 8192, IndexIntervalBytes: 1, IdleRelease: time.Hour}

// moveStartToTail deletes every segment but the active one and waits
// until their files are spares (or deleted).
func moveStartToTail(t *testing.T, l *Log) {
	t.Helper()
	if err := l.SetStartOffset(activeSegment(l).base); err != nil {
		t.Fatal(err)
	}
	l.spareWork.Wait()
}

// TestDeletedSegmentIsReused moves the start past two segments: their files
// become spares, the next two segments are those files (same inodes), and
// the data read back, before and after a restart, is exactly what was
// appended, with none of the stale batches the files still hold.
func TestDeletedSegmentIsReused(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, recycleOpts)
	appendFixed(t, l, 0, 35)
	if l.Stats().Segments < 3 {
		t.Fatalf("fixture: %d segments, want 3 or more", l.Stats().Segments)
	}
	tailBase := activeSegment(l).base
	moveStartToTail(t, l)
	spares := spareFiles(t, dir)
	if len(spares) < 2 {
		t.Fatalf("spares %v: want the deleted segments' files", spares)
	}
	inodes := map[uint64]bool{}
	for _, s := range spares {
		inodes[inode(t, s)] = true
	}
	appendFixed(t, l, 35, 30) // rolls at least twice
	reused := 0
	l.mu.Lock()
	segs := slices.Clone(l.segments)
	l.mu.Unlock()
	for _, s := range segs {
		if inodes[inode(t, s.path)] {
			reused++
		}
	}
	if reused < 2 {
		t.Fatalf("%d of the new segments reuse a spare file; want 2 (spares left: %v)", reused, spareFiles(t, dir))
	}
	checkFixed(t, l, tailBase)

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, dir, recycleOpts)
	if l2.StartOffset() != tailBase || l2.EndOffset() != 65 {
		t.Fatalf("after restart: start %d end %d, want %d 65", l2.StartOffset(), l2.EndOffset(), tailBase)
	}
	checkFixed(t, l2, tailBase)
	appendFixed(t, l2, 65, 1)
	checkFixed(t, l2, tailBase)
}

// TestCrashInRecycledSegment fills a recycled tail segment and, for every
// byte position of its first batch and the next header, builds the crash image where the new
// data reached the disk only up to there, the rest of the file as it was
// before the segment took it: recovery keeps exactly the new batches wholly
// before the cut. That holds because a spare is zeros: had it kept the
// deleted segment's batches (which line up with the new ones here, with
// valid CRCs), a cut just after a new base offset would bring an old batch
// back as new data.
func TestCrashInRecycledSegment(t *testing.T) {
	dir, l, spares := trimmedLog(t, recycleOpts)
	before := make(map[uint64][]byte)
	for _, s := range spares {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.IndexFunc(b, func(r rune) bool { return r != 0 }); i >= 0 {
			t.Fatalf("spare %s holds a non-zero byte at %d", s, i)
		}
		before[inode(t, s)] = b
	}
	for l.Stats().Segments < 8 {
		appendFixed(t, l, l.EndOffset(), 1)
		if old, ok := before[inode(t, activeSegment(l).path)]; ok {
			appendFixed(t, l, l.EndOffset(), 4)
			cutRecycledTail(t, l, dir, old)
			return
		}
	}
	t.Fatal("no new segment reused a spare file")
}

// cutRecycledTail closes l and checks recovery of the crash images of its
// recycled tail segment, whose file held old before: the new bytes up to
// the cut, the old ones from there on.
func cutRecycledTail(t *testing.T, l *Log, dir string, old []byte) {
	t.Helper()
	l.mu.Lock()
	tail := l.segments[len(l.segments)-1]
	base, size := tail.base, tail.size
	var ends []int64
	for _, e := range tail.entries[1:] {
		ends = append(ends, int64(e.pos))
	}
	ends = append(ends, size)
	l.mu.Unlock()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(segmentName(dir, base, ".log"))
	cur, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if len(ends) < 3 {
		t.Fatalf("fixture: %d batches in the recycled tail", len(ends))
	}
	// Every cut in the first batch and the second's header, where an old
	// batch could line up behind a new base offset.
	for cut := int64(0); cut <= ends[0]+batch.HeaderSize; cut++ {
		d := copyTree(t, dir)
		image := append(slices.Clone(cur[:cut]), old[min(cut, int64(len(old))):]...)
		if err := os.WriteFile(filepath.Join(d, name), image, 0o644); err != nil {
			t.Fatal(err)
		}
		want := base + intactBatches(image, cur, ends)
		r, err := Open(d, recycleOpts)
		if err != nil {
			t.Fatalf("cut %d: Open: %v", cut, err)
		}
		if r.EndOffset() != want {
			_ = r.Close()
			t.Fatalf("cut %d: recovered end %d, want %d", cut, r.EndOffset(), want)
		}
		checkFixed(t, r, r.StartOffset())
		appendFixed(t, r, want, 1)
		checkFixed(t, r, r.StartOffset())
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		_ = os.RemoveAll(d)
	}
}

// intactBatches counts the leading batches (ending at ends) that image
// holds exactly as written (cur): a cut where the old byte equals the new
// one leaves a batch whole.
func intactBatches(image, cur []byte, ends []int64) int64 {
	start := int64(0)
	for i, end := range ends {
		if end > int64(len(image)) || !bytes.Equal(image[start:end], cur[start:end]) {
			return int64(i)
		}
		start = end
	}
	return int64(len(ends))
}

// TestReadSegmentIsNotRecycled deletes a segment while a reader holds it:
// its file must not be reused, or the reader would see its bytes change.
func TestReadSegmentIsNotRecycled(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, recycleOpts)
	appendFixed(t, l, 0, 25)
	l.mu.Lock()
	held := l.acquireLocked(0)
	l.mu.Unlock()
	want, err := os.ReadFile(held.path)
	if err != nil {
		t.Fatal(err)
	}
	moveStartToTail(t, l)
	if len(spareFiles(t, dir)) == 0 {
		t.Fatal("the unread segments made no spares")
	}
	if _, err := os.Stat(segmentName(dir, held.base, spareExt)); !os.IsNotExist(err) {
		t.Fatalf("the segment a reader holds became a spare (%v)", err)
	}
	if _, err := os.Stat(held.path); !os.IsNotExist(err) {
		t.Fatalf("held segment's file: %v; want it deleted", err)
	}
	got := make([]byte, len(want))
	if _, err := held.file.ReadAt(got, 0); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the reader's file changed (%v)", err)
	}
	l.release(held)
}

// TestSparesGoWhenIdle: an idle log deletes its spares with its buffers and
// makes no new ones; a log that is not SyncAlways keeps none.
func TestSparesGoWhenIdle(t *testing.T) {
	dir := t.TempDir()
	opts := recycleOpts
	opts.IdleRelease = 20 * time.Millisecond
	l := openLog(t, dir, opts)
	appendFixed(t, l, 0, 25)
	moveStartToTail(t, l)
	if len(spareFiles(t, dir)) == 0 {
		t.Fatal("no spare file after the start moved")
	}
	testenv.WaitFor(t, "the idle log to delete its spares", func() bool { return len(spareFiles(t, dir)) == 0 })
	appendFixed(t, l, 25, 15)
	testenv.WaitFor(t, "the log to go idle again", func() bool { return l.idle.Load() })
	moveStartToTail(t, l)
	if s := spareFiles(t, dir); len(s) != 0 {
		t.Fatalf("idle log kept spares %v", s)
	}

	opts.Sync = SyncNever
	requireNoSpares(t, opts, "a SyncNever log")
}

// TestSpareBudget: past the process's budget, deleted segments are deleted.
func TestSpareBudget(t *testing.T) {
	spareBytes.Add(spareBudget)
	defer spareBytes.Add(-spareBudget)
	requireNoSpares(t, recycleOpts, "a log past the budget")
}

// trimmedLog makes a new log of a few segments, deletes all but the
// active one and returns the spares that made.
func trimmedLog(t *testing.T, opts Options) (dir string, l *Log, spares []string) {
	t.Helper()
	dir = t.TempDir()
	l = openLog(t, dir, opts)
	appendFixed(t, l, 0, 25)
	moveStartToTail(t, l)
	if spares = spareFiles(t, dir); len(spares) == 0 {
		t.Fatal("no spare file after the start moved")
	}
	return dir, l, spares
}

// requireNoSpares deletes all but the active segment of a new log and
// checks that none of them became a spare.
func requireNoSpares(t *testing.T, opts Options, what string) {
	t.Helper()
	dir := t.TempDir()
	l := openLog(t, dir, opts)
	appendFixed(t, l, 0, 25)
	moveStartToTail(t, l)
	if s := spareFiles(t, dir); len(s) != 0 {
		t.Fatalf("%s kept spares %v", what, s)
	}
}

// TestOpenAdoptsSpares: spares left by an earlier run are reused, up to
// maxSpares; the rest, and files whose zero-fill did not finish, are
// deleted.
func TestOpenAdoptsSpares(t *testing.T) {
	dir, l, spares := trimmedLog(t, recycleOpts)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(spares[0])
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxSpares + 2 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("extra-%d%s", i, spareExt)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	unfinished := filepath.Join(dir, "00000000000000000099"+spareZeroingExt)
	if err := os.WriteFile(unfinished, bytes.Repeat([]byte{1}, len(b)), 0o644); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, dir, recycleOpts)
	if n := len(spareFiles(t, dir)); n != maxSpares {
		t.Fatalf("%d spare files after Open, want %d", n, maxSpares)
	}
	if _, err := os.Stat(unfinished); !os.IsNotExist(err) {
		t.Fatalf("a spare whose zero-fill did not finish survived Open (%v)", err)
	}
	kept := map[uint64]bool{}
	for _, s := range spareFiles(t, dir) {
		kept[inode(t, s)] = true
	}
	appendFixed(t, l2, l2.EndOffset(), 15) // rolls
	reused := false
	for _, s := range l2.segments {
		reused = reused || kept[inode(t, s.path)]
	}
	if !reused {
		t.Fatal("no new segment reused an adopted spare")
	}
	checkFixed(t, l2, l2.StartOffset())
}

// smallCommitLog gives the commit log segments of a few dozen rounds, kept
// as spares until the test is done with them.
var smallCommitLog = Options{SegmentBytes: 8192, IdleRelease: time.Hour}

// TestCommitLogReusesStaleSpares: the commit log's deleted segments become
// spares as they are, old records kept (no zero-fill), and new segments
// reuse them. A crash image whose recycled tail brings an old batch back
// behind a new base offset, what a torn write can do there, recovers every
// log exactly: replaying an old record writes bytes where they already are.
func TestCommitLogReusesStaleSpares(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	cdir := filepath.Join(root, "commitlog")
	f := openCommitFixtureWith(t, root, 3, smallCommitLog, Options{IdleRelease: time.Hour})
	c := f.c
	f.fill(t, 0, 60)
	if err := c.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	spares := spareFiles(t, cdir)
	if len(spares) == 0 {
		t.Fatal("the commit log kept no spare after a checkpoint dropped its segments")
	}
	old, err := os.ReadFile(spares[len(spares)-1])
	if err != nil {
		t.Fatal(err)
	}
	h, err := batch.ParseHeader(old)
	if err != nil || h.Size() > len(old) {
		t.Fatalf("the spare does not start with its old batch (%v): it was zero-filled or cut", err)
	}
	stale := slices.Clone(old[:h.Size()])
	inodes := map[uint64]bool{}
	for _, s := range spares {
		inodes[inode(t, s)] = true
	}
	checkpointed := make([]int64, len(f.logs))
	for i, l := range f.logs {
		_, checkpointed[i] = dataEnd(l)
	}
	f.fill(t, 60, 40)
	tail := activeSegment(c.log)
	if !inodes[inode(t, tail.path)] {
		t.Fatalf("the commit log's tail %s is a new file, not a spare", tail.path)
	}

	image := copyTree(t, root)
	loseUnsynced(t, image, f.logs, checkpointed)
	c.log.mu.Lock()
	end, size := c.log.next, tail.size
	c.log.mu.Unlock()
	name := filepath.Join(image, "commitlog", filepath.Base(tail.path))
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint64(stale, uint64(end)) // a new base offset on old bytes
	b = append(b[:size], stale...)
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	probe := copyTree(t, filepath.Join(image, "commitlog"))
	p, err := Open(probe, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.EndOffset(), end+int64(h.LastOffsetDelta)+1; got != want {
		t.Fatalf("fixture: the commit log image recovers to %d, want %d with the old batch taken as new", got, want)
	}
	_ = p.Close()
	checkImage(t, image, []int{100, 100, 100}, "old batch in the recycled commit log")
	f.close(t)
}

// TestSpareAhead: a log that deletes nothing gets its next segment zeroed
// ahead, off the commit path, once the active one is half full, and rolls
// into it.
func TestSpareAhead(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 64 << 10, IdleRelease: time.Hour}
	l := openLog(t, dir, opts)
	appendFixed(t, l, 0, 40) // about 43 KB: past half
	l.spareWork.Wait()
	spares := spareFiles(t, dir)
	if len(spares) != 1 {
		t.Fatalf("spares %v, want one made ahead", spares)
	}
	b, err := os.ReadFile(spares[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != int(alignDown(opts.SegmentBytes)) || bytes.IndexFunc(b, func(r rune) bool { return r != 0 }) >= 0 {
		t.Fatalf("spare made ahead: %d bytes, not all zeros; want %d zeros", len(b), alignDown(opts.SegmentBytes))
	}
	ahead := inode(t, spares[0])
	appendFixed(t, l, 40, 30) // rolls
	if got := inode(t, activeSegment(l).path); got != ahead {
		t.Fatal("the new segment is not the spare made ahead")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r := openLog(t, dir, opts)
	checkFixed(t, r, 0)
}

// TestAdoptedCommitLogSpare: a commit log spare left by an earlier run
// keeps its old, unaligned size; the commit log adopts it and rolls into
// it, zero-filling ahead of new data there with O_DIRECT, and every round
// is still acknowledged.
func TestAdoptedCommitLogSpare(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	cdir := filepath.Join(root, "commitlog")
	f := openCommitFixtureWith(t, root, 1, smallCommitLog, Options{IdleRelease: time.Hour})
	c, l := f.c, f.logs[0]
	appendN(t, l, 0, 60)
	if err := c.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	spares := spareFiles(t, cdir)
	if len(spares) == 0 {
		t.Fatal("the commit log kept no spare")
	}
	unaligned := false
	for _, s := range spares {
		info, _ := os.Stat(s)
		unaligned = unaligned || info.Size()%directAlign != 0
	}
	if !unaligned {
		t.Fatal("fixture: every commit log spare has a whole number of blocks")
	}
	f.close(t)

	f = openCommitFixtureWith(t, root, 1, smallCommitLog, Options{IdleRelease: time.Hour})
	defer f.close(t)
	c, l = f.c, f.logs[0]
	inodes := map[uint64]bool{}
	for _, s := range spareFiles(t, cdir) {
		inodes[inode(t, s)] = true
	}
	appendN(t, l, 60, 60)
	if !inodes[inode(t, activeSegment(c.log).path)] && !slices.ContainsFunc(c.log.segments, func(s *segment) bool { return inodes[inode(t, s.path)] }) {
		t.Fatal("the commit log did not roll into an adopted spare")
	}
	checkValues(t, readAll(t, l, 0), 0, 0)
}
