package storage

import (
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/testenv"
)

// TestGroupAnswersBeforeWriteOut: a group's Commit returns, its rounds
// durable and readable, while the write-out beside its commit-log round
// still runs; the next Commit to the same logs waits for that write-out
// and then runs its own round, and everything survives a reopen.
func TestGroupAnswersBeforeWriteOut(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	var watch segmentWatch
	f := openCommitFixtureWith(t, root, 2, Options{}, Options{OpenFile: watch.open})
	logs := f.logs
	raw := sizedProducerBatch(t, 20<<10)
	var g Group
	commitUntilWriteOutDue(t, &g, logs, raw)
	before := logs[0].EndOffset()

	hold := make(chan struct{})
	watch.holdDirect.Store(&hold)
	first := groupAppendRaw(t, &g, logs, raw)
	within(t, 20*time.Second, "Commit while its write-out is held", g.Commit)
	requireDurable(t, first, "commit beside a held write-out")
	if n := len(readAll(t, logs[0], before)); n != 1 {
		t.Fatalf("read %d records of the round whose write-out is held, want 1", n)
	}
	if logs[0].writeOutDone.Load() == nil {
		t.Fatal("no write-out left running: the test did not hold one")
	}

	var next Group
	second := groupAppendRaw(t, &next, logs, raw)
	committed := commitAside(t, &next)
	watch.holdDirect.Store(nil)
	close(hold)
	committed("the Commit after a held write-out")
	waitAll(t, second, "commit after the write-out")
	if st := logs[0].Stats(); st.Syncs != 0 {
		t.Fatalf("log 0 ran %d rounds of its own, want every round in the commit log", st.Syncs)
	}
	f.close(t)

	f = openCommitFixture(t, root, 2)
	defer f.close(t)
	for i, l := range f.logs {
		if end := l.EndOffset(); end != before+2 {
			t.Fatalf("log %d ends at %d after a reopen, want %d", i, end, before+2)
		}
	}
}

// TestGroupHoldsRoundsUntilItFinished: a write-out left running that is
// done before the group's commit-log round must not unlock its log's round
// while the group has yet to publish that round: the log's next round
// could publish a later end first, which the group's would move back.
func TestGroupHoldsRoundsUntilItFinished(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	faults := faultyFS{direct: true}
	var watch segmentWatch
	f := openCommitFixtureWith(t, root, 2, Options{OpenFile: faults.open}, Options{OpenFile: watch.open})
	logs := f.logs
	raw := sizedProducerBatch(t, 20<<10)
	var g Group
	commitUntilWriteOutDue(t, &g, logs, raw)
	written := watch.directWrites.Load()

	hold := make(chan struct{})
	faults.holdSync.Store(&hold) // the commit log's fsync
	as := groupAppendRaw(t, &g, logs, raw)
	committed := commitAside(t, &g)
	testenv.WaitFor(t, "the write-out beside the held commit-log round", func() bool {
		return watch.directWrites.Load() > written
	})
	time.Sleep(100 * time.Millisecond) // the write-out's goroutine goes on to its end
	if logs[0].round.TryLock() {
		logs[0].round.Unlock()
		t.Fatal("the write-out unlocked the log's round before the group published it")
	}
	faults.holdSync.Store(nil)
	close(hold)
	committed("the Commit after the fsync is released")
	waitAll(t, as, "commit after the held fsync")
	logs[0].awaitWriteOut()
	if !logs[0].round.TryLock() {
		t.Fatal("the log's round is still held after Commit and its write-out")
	}
	logs[0].round.Unlock()
	f.close(t)
}

// commitAside runs g.Commit in a goroutine; the func it returns waits for
// it to return and fails the test if it hangs.
func commitAside(t *testing.T, g *Group) (wait func(what string)) {
	done := make(chan struct{})
	go func() {
		g.Commit()
		close(done)
	}()
	return func(what string) {
		t.Helper()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s hangs", what)
		}
	}
}
