package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
	"github.com/gannet-mq/gannet/internal/testenv"
)

// commitFixture is a data directory with a commit log and logs using it.
type commitFixture struct {
	root string
	c    *CommitLog
	logs []*Log
}

func logDir(root string, i int) string { return filepath.Join(root, "streams", strconv.Itoa(i)) }

// loseUnsynced zeroes, in the crash image, each log's active segment from
// the byte its last checkpoint made durable: what a crash may lose there.
func loseUnsynced(t *testing.T, image string, logs []*Log, checkpointed []int64) {
	t.Helper()
	for i, l := range logs {
		name := filepath.Join(logDir(image, i), filepath.Base(activeSegment(l).path))
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		clear(b[checkpointed[i]:])
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func openCommitFixture(t *testing.T, root string, n int) *commitFixture {
	t.Helper()
	return openCommitFixtureWith(t, root, n, Options{}, Options{})
}

// openCommitFixtureWith opens the commit log with copts and n logs with
// lopts (CommitLog set), every eligible round going to the commit log.
func openCommitFixtureWith(t *testing.T, root string, n int, copts, lopts Options) *commitFixture {
	t.Helper()
	c, err := OpenCommitLog(filepath.Join(root, "commitlog"), root, copts)
	if err != nil {
		t.Fatalf("OpenCommitLog: %v", err)
	}
	c.everyRound = true
	f := &commitFixture{root: root, c: c}
	lopts.CommitLog = c
	for i := range n {
		l, err := Open(logDir(root, i), lopts)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		f.logs = append(f.logs, l)
	}
	return f
}

func (f *commitFixture) close(t *testing.T) {
	t.Helper()
	for _, l := range f.logs {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.c.Close(); err != nil {
		t.Fatal(err)
	}
}

// fill appends n one-record batches from value(first) to every log, the
// logs in parallel, each batch acknowledged before the next.
func (f *commitFixture) fill(t *testing.T, first, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for _, l := range f.logs {
		wg.Go(func() { appendN(t, l, first, n) })
	}
	wg.Wait()
}

// filledFixture opens a fixture of n logs in a new data directory and
// appends perLog one-record batches to every log, the logs in parallel,
// each batch acknowledged before the next. Every round goes through the
// commit log (checked): the logs are new, their segments' directory
// entries already durable, and their rounds small; that needs O_DIRECT,
// without which the test is skipped.
func filledFixture(t *testing.T, n, perLog int) *commitFixture {
	t.Helper()
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	f := openCommitFixture(t, root, n)
	f.fill(t, 0, perLog)
	for _, l := range f.logs {
		if st := l.Stats(); st.Syncs != 0 {
			t.Fatalf("%s fsynced %d rounds itself, want none: all through the commit log", l.dir, st.Syncs)
		}
	}
	return f
}

// openShared opens a commit log under root and one log using it at
// logDir(root, 0); every eligible round goes through the commit log when
// everyRound is set.
func openShared(t *testing.T, root string, everyRound bool, opts Options) (*CommitLog, *Log) {
	t.Helper()
	c, err := OpenCommitLog(filepath.Join(root, "commitlog"), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.everyRound = everyRound
	opts.CommitLog = c
	l, err := Open(logDir(root, 0), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, l
}

// closeShared closes what openShared opened, the log first.
func closeShared(t *testing.T, c *CommitLog, l *Log) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// crashImage copies the data directory as it is now and zeroes every
// log's tail segment in the copy, as a power loss may: no log fsynced its
// own data, so the commit log is all that holds it.
func (f *commitFixture) crashImage(t *testing.T) string {
	t.Helper()
	image := copyTree(t, f.root)
	for i, l := range f.logs {
		zeroSegment(t, image, i, activeSegment(l))
	}
	return image
}

// checkImage recovers image and checks that log i holds exactly want[i]
// records with the values fill wrote.
func checkImage(t *testing.T, image string, want []int, what string) {
	t.Helper()
	g := openCommitFixture(t, image, len(want))
	defer g.close(t)
	if st := g.c.log.Stats(); st.EndOffset != st.StartOffset {
		t.Fatalf("%s: commit log holds [%d, %d) after opening, want nothing: replay drops what it applied", what, st.StartOffset, st.EndOffset)
	}
	for i, l := range g.logs {
		if got := l.EndOffset(); got != int64(want[i]) {
			t.Fatalf("%s: log %d recovered %d records, want %d", what, i, got, want[i])
		}
		checkValues(t, readAll(t, l, 0), 0, 0)
	}
}

func TestCommitLogCarriesSmallRounds(t *testing.T) {
	f := filledFixture(t, 4, 60)
	if st := f.c.log.Stats(); st.AppendedRecords != 4*60 {
		t.Fatalf("commit log took %d rounds, want %d", st.AppendedRecords, 4*60)
	}
	for _, l := range f.logs {
		checkValues(t, readAll(t, l, 0), 0, 0) // from the ring: nothing is in the file yet
	}
	image := f.crashImage(t)
	checkImage(t, image, []int{60, 60, 60, 60}, "crash")

	f.close(t) // a clean close writes and fsyncs everything itself
	checkImage(t, f.root, []int{60, 60, 60, 60}, "clean close")
}

// TestCommitLogCutAnywhere cuts the commit log of a crash image at every
// batch boundary and at bytes in between: each log must recover exactly
// the batches whose commit records lie wholly before the cut.
func TestCommitLogCutAnywhere(t *testing.T) {
	f := filledFixture(t, 3, 12)
	image := f.crashImage(t)

	// Each commit log batch ends at ends[k]; perLog[k][i] is how many
	// records log i has once batches [0, k] are replayed.
	seg := activeSegment(f.c.log)
	ends, perLog := commitBatches(t, f, seg)
	whole, err := os.ReadFile(filepath.Join(image, "commitlog", filepath.Base(seg.path)))
	if err != nil {
		t.Fatal(err)
	}
	first := make([]int, len(f.logs))
	cuts := []int64{0}
	for _, e := range ends {
		cuts = append(cuts, e-1, e, e+7)
	}
	for _, cut := range cuts {
		if cut > ends[len(ends)-1] {
			continue
		}
		want := first
		for k, e := range ends {
			if e <= cut {
				want = perLog[k]
			}
		}
		cutImage := copyTree(t, image)
		if err := os.WriteFile(filepath.Join(cutImage, "commitlog", filepath.Base(seg.path)), whole[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		checkImage(t, cutImage, want, "cut at "+strconv.FormatInt(cut, 10))
	}
	f.close(t)
}

// commitBatches reads the commit log's segment s of fixture f: the end of
// each batch and the record count of every log after it.
func commitBatches(t *testing.T, f *commitFixture, s *segment) ([]int64, [][]int) {
	t.Helper()
	raw, err := os.ReadFile(s.path)
	if err != nil {
		t.Fatal(err)
	}
	index := make(map[string]int)
	for i, l := range f.logs {
		index[string(l.commitDir)] = i
	}
	counts := make([]int, len(f.logs))
	var ends []int64
	var perLog [][]int
	for pos := int64(0); ; {
		h, err := batch.ParseHeader(raw[pos:])
		if err != nil || h.Magic != 2 {
			break
		}
		recs, err := batch.Decode(raw[pos:pos+int64(h.Size())], nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			data := r.Value
			for len(data) > 0 {
				bh, err := batch.ParseHeader(data)
				if err != nil {
					t.Fatal(err)
				}
				counts[index[string(r.Key[commitKeyFixed:])]] += int(bh.RecordCount)
				data = data[bh.Size():]
			}
		}
		pos += int64(h.Size())
		ends = append(ends, pos)
		perLog = append(perLog, append([]int(nil), counts...))
	}
	if len(ends) == 0 {
		t.Fatal("commit log has no batches")
	}
	return ends, perLog
}

// TestCommitLogSkipsReplacedLogs: records of a log that was deleted, or
// replaced by a new log at the same path, are not replayed into it.
func TestCommitLogSkipsReplacedLogs(t *testing.T) {
	f := filledFixture(t, 2, 10)
	image := f.crashImage(t)
	f.close(t)

	// Log 0 was deleted; log 1 is a new log with another (valid) commit id.
	if err := os.RemoveAll(logDir(image, 0)); err != nil {
		t.Fatal(err)
	}
	old, err := readCommitID(logDir(image, 1))
	if err != nil {
		t.Fatal(err)
	}
	writeCommitID(t, logDir(image, 1), old+1)
	c, err := OpenCommitLog(filepath.Join(image, "commitlog"), image, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := os.Stat(logDir(image, 0)); !os.IsNotExist(err) {
		t.Fatalf("replay recreated a deleted log's directory: %v", err)
	}
	l, err := Open(logDir(image, 1), Options{CommitLog: c})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.EndOffset(); got != 0 {
		t.Fatalf("replaced log holds %d records, want 0: another log's records were replayed into it", got)
	}
}

// writeCommitID replaces the commit id kept in dir with id, checksummed as
// createCommitID writes it.
func writeCommitID(t *testing.T, dir string, id uint64) {
	t.Helper()
	b := binary.BigEndian.AppendUint64(nil, id)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	if err := os.WriteFile(filepath.Join(dir, commitIDName), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := readCommitID(dir); err != nil || got != id {
		t.Fatalf("commit id reads back as %d, %v; want %d", got, err, id)
	}
}

// TestCommitLogCheckpoint: a checkpoint fsyncs the logs' deferred bytes and
// drops the commit log's records; what comes after is replayed as before.
func TestCommitLogCheckpoint(t *testing.T) {
	f := filledFixture(t, 3, 20)
	if err := f.c.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if st := f.c.log.Stats(); st.StartOffset != st.EndOffset {
		t.Fatalf("commit log holds [%d, %d) after a checkpoint, want nothing", st.StartOffset, st.EndOffset)
	}
	checkpointed := make([]int64, len(f.logs))
	for i, l := range f.logs {
		_, checkpointed[i] = dataEnd(l)
	}
	f.fill(t, 20, 15)

	image := copyTree(t, f.root)
	loseUnsynced(t, image, f.logs, checkpointed)
	checkImage(t, image, []int{35, 35, 35}, "after checkpoint")
	f.close(t)
}

// TestCommitLogAutomaticCheckpoint: the commit log checkpoints by itself
// once it has grown by checkpointBytes, so its old segments go.
func TestCommitLogAutomaticCheckpoint(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	c, err := OpenCommitLog(filepath.Join(root, "commitlog"), root, Options{SegmentBytes: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	c.checkpointBytes, c.everyRound = 4<<10, true
	l, err := Open(logDir(root, 0), Options{CommitLog: c})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 0, 300)
	testenv.WaitFor(t, "a checkpoint to drop the commit log's old segments", func() bool {
		return c.log.Stats().Segments <= 2
	})
	checkValues(t, readAll(t, l, 0), 0, 0)
	closeShared(t, c, l)
	checkImage(t, root, []int{300}, "reopen")
}

// TestCommitLogMixedRounds: a log whose rounds alternate between the commit
// log and its own direct writes, over more bytes than its ring holds (so
// deferred bytes are written out as the ring wraps) and past an idle
// release, reads back and recovers intact.
func TestCommitLogMixedRounds(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	c, l := openShared(t, root, true, Options{IdleRelease: 20 * time.Millisecond})
	sizes := irregularSizes(7, 400)
	for i := range sizes {
		if i%50 == 49 {
			sizes[i] = 100 << 10 // a round too large for the commit log
		}
	}
	half := len(sizes) / 2
	appendSized(t, l, 0, sizes[:half])
	waitIdleRelease(t, l, "first half") // the ring is written out and dropped
	appendSized(t, l, int64(half), sizes[half:])
	if c.log.Stats().AppendedRecords == 0 || l.Stats().Syncs == 0 {
		t.Fatalf("commit log rounds %d, direct rounds %d: want both", c.log.Stats().AppendedRecords, l.Stats().Syncs)
	}
	check := func(l *Log, what string) {
		t.Helper()
		var recs []batch.Record
		for from := int64(0); from < l.EndOffset(); {
			got, err := l.ReadRecords(from, 1<<20, nil)
			if err != nil || len(got) == 0 {
				t.Fatalf("%s: read at %d: %v", what, from, err)
			}
			recs = append(recs, got...)
			from = got[len(got)-1].Offset + 1
		}
		if len(recs) != len(sizes) {
			t.Fatalf("%s: %d records, want %d", what, len(recs), len(sizes))
		}
		if err := checkSized(recs, 0); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	check(l, "running")
	image := copyTree(t, root)
	closeShared(t, c, l)
	for _, dir := range []string{image, root} {
		c, l := openShared(t, dir, false, Options{})
		check(l, dir)
		closeShared(t, c, l)
	}
}

// TestCommitLogAcrossSegmentRolls: segments roll while their last bytes are
// still deferred; sealing must write them out before the segment is
// trimmed, fsynced and indexed.
func TestCommitLogAcrossSegmentRolls(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	c, l := openShared(t, root, true, Options{SegmentBytes: 4 << 10})
	appendN(t, l, 0, 400)
	if st := l.Stats(); st.Segments < 5 {
		t.Fatalf("%d segments, want several rolls", st.Segments)
	}
	checkValues(t, readAll(t, l, 0), 0, 0)
	image := copyTree(t, root)
	closeShared(t, c, l)
	checkImage(t, image, []int{400}, "crash")
	checkImage(t, root, []int{400}, "clean close")
}

// TestCommitLogLoneLogWritesItself: a log whose rounds meet no others in the
// commit log writes and fsyncs them itself, without the commit log's two
// extra hand-offs.
func TestCommitLogLoneLogWritesItself(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	c, l := openShared(t, root, false, Options{})
	defer closeShared(t, c, l)
	appendN(t, l, 0, 20)
	if st, cst := l.Stats(), c.log.Stats(); st.Syncs != 20 || cst.AppendedRecords != 0 {
		t.Fatalf("log fsynced %d rounds itself and the commit log took %d; want 20 and 0", st.Syncs, cst.AppendedRecords)
	}
}

// TestStagedRoundsWriteOutTogether: a log whose rounds the commit log
// carries writes them to its own segment many rounds at a time. Each
// write-out is a device write the commit-log round beside it waits for; a
// ring sized for one round wrote out every few rounds.
func TestStagedRoundsWriteOutTogether(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	var watch segmentWatch
	f := openCommitFixtureWith(t, root, 1, Options{}, Options{OpenFile: watch.open})
	defer f.close(t)
	l := f.logs[0]
	const rounds, size = 256, 8 << 10
	for i := range rounds {
		a, err := l.Append([]batch.Record{{Value: bytes.Repeat([]byte{byte(i)}, size)}})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if st := l.Stats(); st.Syncs != 0 {
		t.Fatalf("%d rounds of the log's own, want all through the commit log", st.Syncs)
	}
	// Eight rounds or more per write-out (docs/storage-format.md): a log
	// alone writes out at half its ring.
	if n := watch.directWrites.Load(); n > rounds/8+1 {
		t.Fatalf("%d writes to the segment for %d rounds of %d bytes, want a write-out per 8 rounds or fewer", n, rounds, size)
	}
}
