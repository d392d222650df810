package storage

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
)

// producerBatch is record value(i) as a producer sends it to AppendBatch.
func producerBatch(t testing.TB, i int) []byte {
	t.Helper()
	raw, err := batch.Append(nil, 0, []batch.Record{{Key: []byte("k"), Value: value(i)}},
		batch.EncodeOptions{ProducerID: batch.NoProducer, ProducerEpoch: -1, BaseSequence: -1})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// groupAppend appends batch i to every log in g.
func groupAppend(t testing.TB, g *Group, logs []*Log, i int) []Appended {
	t.Helper()
	return groupAppendRaw(t, g, logs, producerBatch(t, i))
}

// groupAppendRaw appends raw to every log in g.
func groupAppendRaw(t testing.TB, g *Group, logs []*Log, raw []byte) []Appended {
	t.Helper()
	var as []Appended
	for _, l := range logs {
		a, err := g.AppendBatch(l, raw)
		if err != nil {
			t.Fatalf("AppendBatch: %v", err)
		}
		as = append(as, a)
	}
	return as
}

// requireDurable fails unless every append is already visible: Commit ran
// its round, nobody is left to wait for.
func requireDurable(t *testing.T, as []Appended, what string) {
	t.Helper()
	for _, a := range as {
		if end := a.log.EndOffset(); end < a.End {
			t.Fatalf("%s: %s ends at %d after Commit, want %d without waiting", what, a.log.dir, end, a.End)
		}
	}
}

// waitAll waits for every append to become durable and fails the test if
// one fails or the wait hangs.
func waitAll(t *testing.T, as []Appended, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, a := range as {
		if err := a.Wait(ctx); err != nil {
			t.Fatalf("%s: %s: %v", what, a.log.dir, err)
		}
	}
}

// TestGroupCommitSharesOneRound: a group's small rounds reach the commit
// log together and Commit runs the one commit-log round they need, in the
// caller; no log fsyncs itself, and a crash image whose segments lost
// everything recovers every acknowledged record from the commit log.
// Enough commits are made for the rings to be written out on the way.
func TestGroupCommitSharesOneRound(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	f := openCommitFixture(t, root, 16)
	f.c.everyRound = false // the group shares because it writes many logs
	const commits = 1000
	var g Group
	for i := range commits {
		before := f.c.log.Stats().Syncs
		as := groupAppend(t, &g, f.logs, i)
		g.Commit()
		requireDurable(t, as, "commit")
		if got := f.c.log.Stats().Syncs - before; got != 1 {
			t.Fatalf("commit %d took %d commit-log rounds, want 1", i, got)
		}
	}
	for _, l := range f.logs {
		if st := l.Stats(); st.Syncs != 0 {
			t.Fatalf("%s fsynced %d rounds itself, want none", l.dir, st.Syncs)
		}
		if l.ring.disk == 0 {
			t.Fatalf("%s wrote none of its deferred bytes out: the test no longer fills half a ring", l.dir)
		}
		checkValues(t, readAll(t, l, 0), 0, 0)
	}
	want := make([]int, len(f.logs))
	for i := range want {
		want[i] = commits
	}
	image := f.crashImage(t)
	checkImage(t, image, want, "crash")
	f.close(t)
	checkImage(t, root, want, "clean close")
}

// TestGroupCommitLoneLog: a group of one log runs the log's own round in
// the caller, as its syncer would.
func TestGroupCommitLoneLog(t *testing.T) {
	c, l := openShared(t, t.TempDir(), false, Options{})
	defer closeShared(t, c, l)
	var g Group
	for i := range 20 {
		as := groupAppend(t, &g, []*Log{l}, i)
		g.Commit()
		requireDurable(t, as, "commit")
		if st := l.Stats(); st.Syncs != int64(i+1) {
			t.Fatalf("after %d commits the log fsynced %d rounds, want one each", i+1, st.Syncs)
		}
	}
	checkValues(t, readAll(t, l, 0), 0, 0)
}

// TestGroupCommitBehindBusyRound: a log whose round someone else is
// running (here the test holds it) is left to its syncer: Commit does not
// wait for it, commits the others, and the log's append becomes durable
// once its syncer gets the round.
func TestGroupCommitBehindBusyRound(t *testing.T) {
	f := openCommitFixture(t, t.TempDir(), 3)
	defer f.close(t)
	busy := f.logs[0]
	busy.round.Lock()
	var g Group
	as := groupAppend(t, &g, f.logs, 0)
	committed := make(chan struct{})
	go func() {
		g.Commit()
		close(committed)
	}()
	select {
	case <-committed:
	case <-time.After(10 * time.Second):
		busy.round.Unlock()
		t.Fatal("Commit waited for a round another goroutine holds")
	}
	requireDurable(t, as[1:], "the free logs")
	if end := busy.EndOffset(); end >= as[0].End {
		busy.round.Unlock()
		t.Fatalf("the busy log is durable to %d while its round was held", end)
	}
	busy.round.Unlock()
	waitAll(t, as[:1], "the busy log's append (its syncer was not asked for a round)")
}

// TestGroupRelease: released appends are left to the syncers, which make
// them durable.
func TestGroupRelease(t *testing.T) {
	f := openCommitFixture(t, t.TempDir(), 2)
	defer f.close(t)
	var g Group
	as := groupAppend(t, &g, f.logs, 0)
	g.Release()
	waitAll(t, as, "released append")
}

// TestGroupCommitConcurrent runs groups over the same logs from several
// goroutines, beside plain appends and checkpoints (run it with -race):
// every append is acknowledged, and a crash image of the end holds them
// all. (The image keeps its segments: checkpoints fsynced part of them.)
func TestGroupCommitConcurrent(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	f := openCommitFixture(t, root, 4)
	f.c.everyRound = false
	const writers, commits, plain = 4, 150, 300
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			var g Group
			for i := range commits {
				as := groupAppend(t, &g, f.logs[w%2:], i) // overlapping sets
				g.Commit()
				for _, a := range as {
					if err := a.Wait(ctx); err != nil {
						t.Errorf("group append: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Go(func() { appendN(t, f.logs[0], 0, plain) })
	stop := make(chan struct{})
	checkpoints := make(chan error, 1)
	go func() {
		var err error
		for {
			select {
			case <-stop:
				checkpoints <- err
				return
			case <-time.After(5 * time.Millisecond):
				if cerr := f.c.Checkpoint(); cerr != nil && err == nil {
					err = cerr
				}
			}
		}
	}()
	wg.Wait()
	close(stop)
	if err := <-checkpoints; err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	if t.Failed() {
		return
	}
	want := []int{writers/2*commits + plain, writers * commits, writers * commits, writers * commits}
	for i, l := range f.logs {
		if got := l.EndOffset(); got != int64(want[i]) {
			t.Fatalf("log %d holds %d records, want %d", i, got, want[i])
		}
	}
	g := openCommitFixture(t, copyTree(t, root), len(want))
	for i, l := range g.logs {
		if got := l.EndOffset(); got != int64(want[i]) {
			t.Fatalf("crash image: log %d recovered %d records, want %d", i, got, want[i])
		}
		readAll(t, l, 0) // every batch reads back (checksums)
	}
	g.close(t)
	f.close(t)
}
