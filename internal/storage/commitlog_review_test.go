package storage

import (
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// zeroSegment zeroes the file of segment s of log i in image, as a power
// loss may when s was never fsynced.
func zeroSegment(t *testing.T, image string, i int, s *segment) {
	t.Helper()
	name := filepath.Join(logDir(image, i), filepath.Base(s.path))
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCommitLogKeepsRecordsALogCouldNotSave: a log whose Close cannot make
// its deferred bytes durable (the fsync fails) must not let a checkpoint
// drop the commit log's records of them: they are the only durable copy of
// acknowledged data, and a restart replays them.
func TestCommitLogKeepsRecordsALogCouldNotSave(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	fs := &faultyFS{direct: true}
	c, l := openShared(t, root, true, Options{OpenFile: fs.open, IdleRelease: time.Hour})
	appendN(t, l, 0, 30)
	if st := l.Stats(); st.Syncs != 0 {
		t.Fatalf("the log fsynced %d rounds itself; want all in the commit log", st.Syncs)
	}
	seg := activeSegment(l)
	fs.failSync.Store(true)
	if err := l.Close(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Close with a failing fsync: %v, want ErrFailed", err)
	}
	if err := c.Checkpoint(); err == nil {
		t.Error("a checkpoint succeeded although a log could not make its bytes durable")
	}
	if st := c.log.Stats(); st.StartOffset == st.EndOffset {
		t.Error("the checkpoint dropped the commit log's records of bytes that never became durable in their segment")
	}
	image := copyTree(t, root)
	zeroSegment(t, image, 0, seg) // its fsync failed: the bytes may be gone
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	checkImage(t, image, []int{30}, "crash after a failed close")
}

// TestCommitLogRemovedFailedLogLetsCheckpointsGo: once a log that could not
// save its bytes is deleted (Remove, or Close and removing its directory as
// the broker deletes a stream), its records are of no use (replay skips a
// missing directory) and checkpoints go on.
func TestCommitLogRemovedFailedLogLetsCheckpointsGo(t *testing.T) {
	for _, how := range []string{"Remove", "Close+RemoveAll"} {
		t.Run(how, func(t *testing.T) { testRemovedFailedLog(t, how == "Remove") })
	}
}

// failingSharedLog opens a commit log and a log through it under a new
// data directory, appends to the log, and makes every later fsync fail.
func failingSharedLog(t *testing.T) (root string, c *CommitLog, l *Log) {
	root = t.TempDir()
	skipWithoutDirectIO(t, root)
	fs := &faultyFS{direct: true}
	c, l = openShared(t, root, true, Options{OpenFile: fs.open, IdleRelease: time.Hour})
	t.Cleanup(func() { _ = c.Close() })
	appendN(t, l, 0, 10)
	fs.failSync.Store(true)
	return root, c, l
}

func testRemovedFailedLog(t *testing.T, viaRemove bool) {
	root, c, l := failingSharedLog(t)
	if viaRemove {
		if err := l.Remove(); err != nil {
			t.Fatalf("Remove of a failed log: %v", err)
		}
	} else {
		if err := l.Close(); !errors.Is(err, ErrFailed) {
			t.Fatalf("Close with a failing fsync: %v, want ErrFailed", err)
		}
		if err := c.Checkpoint(); err == nil {
			t.Fatal("a checkpoint succeeded while the failed log's directory was still there")
		}
		if err := os.RemoveAll(logDir(root, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Checkpoint(); err != nil {
		t.Fatalf("checkpoint after the failed log was removed: %v", err)
	}
	if st := c.log.Stats(); st.StartOffset != st.EndOffset {
		t.Fatalf("commit log holds [%d, %d) after a checkpoint, want nothing", st.StartOffset, st.EndOffset)
	}
}

// TestCommitLogDeferredBytesFallBackOnEINVAL: a file system that accepts
// O_DIRECT at open but refuses the writes (EINVAL) makes a log write its
// deferred bytes through the page cache, as its own rounds do, instead of
// failing the log.
func TestCommitLogDeferredBytesFallBackOnEINVAL(t *testing.T) {
	root, fs, c, l := openSharedRefusingDirect(t)
	const n = 800 // more than half the smallest ring: written out early
	appendN(t, l, 0, n)
	if fs.faults.Load() == 0 || c.log.Stats().AppendedRecords == 0 {
		t.Fatalf("%d refused direct writes, %d commit log rounds: want both", fs.faults.Load(), c.log.Stats().AppendedRecords)
	}
	if activeSegment(l).direct != nil {
		t.Error("the segment still writes directly after EINVAL")
	}
	checkValues(t, readAll(t, l, 0), 0, 0)
	if err := c.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	checkImage(t, root, []int{n}, "reopen")
}

// TestCommitLogReplayOpensThroughOptions: replay opens the segment files
// it writes into with the commit log's Options.OpenFile, as every other
// file of the data directory is opened, so a fault there is reported.
func TestCommitLogReplayOpensThroughOptions(t *testing.T) {
	f := filledFixture(t, 2, 5)
	image := f.crashImage(t)
	f.close(t)

	refused := errors.New("segment refused")
	var opened atomic.Int64
	open := func(name string, flag int, perm os.FileMode) (File, error) {
		if filepath.Dir(filepath.Dir(name)) == filepath.Join(image, "streams") {
			opened.Add(1)
			return nil, refused
		}
		return OpenOSFile(name, flag, perm)
	}
	c, err := OpenCommitLog(filepath.Join(image, "commitlog"), image, Options{OpenFile: open})
	if err == nil {
		c.Close()
	}
	if !errors.Is(err, refused) || opened.Load() == 0 {
		t.Fatalf("OpenCommitLog over a file system refusing segments: %v after %d opens, want the refusal", err, opened.Load())
	}
}

// TestCommitLogReplayRefusesCorruptCommitID: a log's commit id that fails
// its checksum stops the replay with ErrCorrupt instead of taking the log
// as deleted and dropping its records, which may be the only copy of
// acknowledged data (its segment lost them here).
func TestCommitLogReplayRefusesCorruptCommitID(t *testing.T) {
	f := filledFixture(t, 2, 5)
	image := f.crashImage(t)
	f.close(t)

	name := filepath.Join(logDir(image, 1), commitIDName)
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := OpenCommitLog(filepath.Join(image, "commitlog"), image, Options{})
	if err == nil {
		c.Close()
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("OpenCommitLog with a corrupt commit id: %v, want ErrCorrupt", err)
	}
}

// openSharedRefusingDirect opens, in a new data directory root, a shared log (openShared, every round to
// the commit log) on a file system that accepts O_DIRECT at open and
// refuses every such write with EINVAL.
func openSharedRefusingDirect(t *testing.T) (root string, fs *directFaultFS, c *CommitLog, l *Log) {
	t.Helper()
	root = t.TempDir()
	skipWithoutDirectIO(t, root)
	fs = &directFaultFS{}
	fs.arm(unix.EINVAL, 0)
	c, l = openShared(t, root, true, Options{OpenFile: fs.open, IdleRelease: time.Hour})
	return root, fs, c, l
}

// TestCommitLogEINVALWhenTheRingGrows: a round large enough to make the
// ring grow writes the deferred bytes out first; when that write is the one
// that finds the file system refusing O_DIRECT writes, the round itself
// goes through the page cache as they did, and the commit log still holds
// it. It was staged in the ring of a segment that no longer wrote directly,
// and the next write-out dereferenced the closed O_DIRECT descriptor (a
// panic).
func TestCommitLogEINVALWhenTheRingGrows(t *testing.T) {
	root, fs, c, l := openSharedRefusingDirect(t)
	sizes := []int{100, 100, 100, 100, 100, 20 << 10} // the last over a quarter of the smallest ring
	for i := range sizes {
		appendSized(t, l, int64(i), sizes[i:i+1]) // one round each
	}
	if n, recs := fs.faults.Load(), c.log.Stats().AppendedRecords; n == 0 || recs != int64(len(sizes)) {
		t.Fatalf("%d refused direct writes, %d commit log rounds: want some and %d", n, recs, len(sizes))
	}
	image := copyTree(t, root)
	zeroSegment(t, image, 0, activeSegment(l)) // never fsynced: the commit log holds it all
	closeShared(t, c, l)
	for _, dir := range []string{image, root} {
		c, l := openShared(t, dir, false, Options{})
		if got := l.EndOffset(); got != int64(len(sizes)) {
			t.Fatalf("%s: recovered %d records, want %d", dir, got, len(sizes))
		}
		if err := checkSized(readAll(t, l, 0), 0); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		closeShared(t, c, l)
	}
}

// TestCommitLogUnreadableIDKeepsRecords: a log that could not save its
// bytes and whose commit id then cannot be read is not taken as deleted:
// replay refuses such an id rather than skip the records, so checkpoints
// must keep them.
func TestCommitLogUnreadableIDKeepsRecords(t *testing.T) {
	root, c, l := failingSharedLog(t)
	if err := l.Close(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Close with a failing fsync: %v, want ErrFailed", err)
	}
	if err := os.WriteFile(filepath.Join(logDir(root, 0), commitIDName), []byte("not an id"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.Checkpoint(); err == nil {
		t.Fatal("a checkpoint succeeded while the failed log's commit id was unreadable")
	}
	if st := c.log.Stats(); st.StartOffset == st.EndOffset {
		t.Fatal("the checkpoint dropped the records of a log whose commit id was unreadable")
	}
}
