package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
)

// heldSyncFS wraps real files, O_DIRECT writes included, and holds every
// fsync of a segment file while a gate is set, until the gate closes.
type heldSyncFS struct {
	gate    atomic.Pointer[chan struct{}]
	waiting chan string // a held fsync's file, as it starts waiting
}

func (fs *heldSyncFS) open(name string, flag int, perm os.FileMode) (File, error) {
	f, err := OpenOSFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &heldSyncFile{File: f, directThrough: directThrough{f.(directFile)}, fs: fs, name: name}, nil
}

type heldSyncFile struct {
	File
	directThrough
	fs   *heldSyncFS
	name string
}

func (f *heldSyncFile) Sync() error {
	if g := f.fs.gate.Load(); g != nil && strings.HasSuffix(f.name, ".log") {
		f.fs.waiting <- f.name
		<-*g
	}
	return f.File.Sync()
}

// TestCheckpointDoesNotHoldRounds: while a checkpoint's fsyncs of the
// logs' segments are held, new appends to those very logs, one log at a
// time and in a Group over both, are acknowledged through the commit log;
// the checkpoint then completes, and its trim keeps the records of those
// appends, which a crash that loses everything the checkpoint did not
// fsync recovers from.
func TestCheckpointDoesNotHoldRounds(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	c, err := OpenCommitLog(filepath.Join(root, "commitlog"), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.everyRound = true
	fs := &heldSyncFS{waiting: make(chan string, 16)}
	f := &commitFixture{root: root, c: c}
	for i := range 2 {
		l, err := Open(logDir(root, i), Options{CommitLog: c, OpenFile: fs.open, IdleRelease: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		f.logs = append(f.logs, l)
		appendN(t, l, 0, 10)
	}
	checkpointed := make([]int64, len(f.logs))
	for i, l := range f.logs {
		_, checkpointed[i] = dataEnd(l)
	}

	held := make(chan struct{})
	fs.gate.Store(&held)
	checkpointDone := make(chan error, 1)
	go func() { checkpointDone <- c.Checkpoint() }()
	for range f.logs { // each log has one segment to fsync
		select {
		case <-fs.waiting:
		case <-time.After(10 * time.Second):
			t.Fatal("the checkpoint did not fsync the logs' segments")
		}
	}

	for i := 10; i < 15; i++ {
		var as []Appended
		for _, l := range f.logs {
			a, err := l.Append([]batch.Record{{Key: []byte("k"), Value: value(i)}})
			if err != nil {
				t.Fatal(err)
			}
			as = append(as, a)
		}
		waitAll(t, as, "an append while the checkpoint's fsync of its log is held")
	}
	var g Group
	for i := 15; i < 20; i++ {
		as := groupAppend(t, &g, f.logs, i)
		g.Commit()
		waitAll(t, as, "a group append while the checkpoint's fsyncs are held")
	}
	for _, l := range f.logs {
		if st := l.Stats(); st.Syncs != 0 {
			t.Fatalf("%s fsynced %d rounds itself, want all in the commit log", l.dir, st.Syncs)
		}
	}
	select {
	case err := <-checkpointDone:
		t.Fatalf("the checkpoint finished (%v) while its fsyncs were held", err)
	default:
	}

	fs.gate.Store(nil)
	close(held)
	if err := <-checkpointDone; err != nil {
		t.Fatal(err)
	}
	if st := c.log.Stats(); st.EndOffset-st.StartOffset != 20 {
		t.Fatalf("commit log holds [%d, %d) after the checkpoint, want the 20 rounds made during it", st.StartOffset, st.EndOffset)
	}
	image := copyTree(t, root)
	loseUnsynced(t, image, f.logs, checkpointed)
	checkImage(t, image, []int{20, 20}, "crash after a checkpoint that ran beside appends")
	f.close(t)
}

// pauseCheckpoints stops the commit log's checkpoint loop, leaving its
// requests (c.kick) to the test; Close still works.
func pauseCheckpoints(c *CommitLog) {
	close(c.stop)
	<-c.done
	c.stop = make(chan struct{})
}

// TestCheckpointOncePerCrossing: the commit log asks for one checkpoint
// when it grows past checkpointBytes, not once more for every round that
// comes before the checkpoint starts (and resets the count), which
// queued a second checkpoint right behind the first.
func TestCheckpointOncePerCrossing(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	c, l := openShared(t, root, true, Options{IdleRelease: time.Hour})
	pauseCheckpoints(c)
	c.checkpointBytes = 8 << 10
	next := 0
	appendKB := func() {
		t.Helper()
		a, err := l.Append([]batch.Record{{Key: []byte("k"), Value: append(value(next), make([]byte, 1<<10)...)}})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		next++
	}
	for crossing := range 2 {
		rounds := 0
		for len(c.kick) == 0 {
			if rounds++; rounds > 9 {
				t.Fatalf("crossing %d: no checkpoint asked for after %d rounds of 1 KiB", crossing, rounds-1)
			}
			appendKB()
		}
		<-c.kick // the checkpoint loop takes the request
		for range 20 {
			appendKB()
		}
		if len(c.kick) != 0 {
			t.Fatalf("crossing %d: a second checkpoint asked for before the first began", crossing)
		}
		if err := c.Checkpoint(); err != nil {
			t.Fatal(err)
		}
	}
	if st := l.Stats(); st.Syncs != 0 {
		t.Fatalf("the log fsynced %d rounds itself, want all in the commit log", st.Syncs)
	}
	closeShared(t, c, l)
}

// TestCheckpointFsyncFailureKeepsRecords: once an fsync of the segment a
// log's deferred bytes went to failed, those bytes may be gone whatever a
// later fsync says, so later checkpoints and Close must not report them
// durable: the commit log keeps their records and a restart replays them.
// The failed fsync is a checkpoint's, or that of a round the log wrote
// itself (too large for the commit log) into the same segment after
// writing the deferred bytes out (a checkpoint after that one used to
// fsync the segment again, succeed and drop the records).
func TestCheckpointFsyncFailureKeepsRecords(t *testing.T) {
	for _, failing := range []string{"checkpoint", "round"} {
		t.Run(failing, func(t *testing.T) { testFsyncFailureKeepsRecords(t, failing == "round") })
	}
}

func testFsyncFailureKeepsRecords(t *testing.T, inRound bool) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	fs := &faultyFS{direct: true}
	c, l := openShared(t, root, true, Options{OpenFile: fs.open, IdleRelease: time.Hour})
	appendN(t, l, 0, 10)
	seg := activeSegment(l)
	fs.failSync.Store(true)
	if inRound {
		a, err := l.Append([]batch.Record{{Key: []byte("k"), Value: make([]byte, 2*commitRoundMax)}})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Wait(context.Background()); !errors.Is(err, ErrFailed) {
			t.Fatalf("a round whose fsync failed: %v, want ErrFailed", err)
		}
		if n := c.log.Stats().AppendedRecords; n != 10 || activeSegment(l) != seg {
			t.Fatalf("the large round went through the commit log (%d records) or to another segment", n)
		}
	} else {
		if err := c.Checkpoint(); err == nil {
			t.Fatal("a checkpoint succeeded although its fsync failed")
		}
		if !l.Stats().Failed {
			t.Fatal("the log did not fail when its checkpoint fsync did")
		}
	}
	fs.failSync.Store(false)
	if err := c.Checkpoint(); err == nil {
		t.Error("a checkpoint after a failed fsync succeeded: the records of the bytes that fsync lost would go")
	}
	if err := l.Close(); err == nil {
		t.Error("Close reported the bytes a failed fsync covered durable")
	}
	if err := c.Checkpoint(); err == nil {
		t.Error("a checkpoint after the failed log closed succeeded")
	}
	image := copyTree(t, root)
	zeroSegment(t, image, 0, seg)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	checkImage(t, image, []int{10}, "crash after a failed fsync")
}
