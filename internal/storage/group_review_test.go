package storage

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
	"github.com/gannet-mq/gannet/internal/testenv"
)

// sizedProducerBatch is a producer's batch of one record whose value is
// size bytes.
func sizedProducerBatch(t testing.TB, size int) []byte {
	t.Helper()
	raw, err := batch.Append(nil, 0, []batch.Record{{Value: bytes.Repeat([]byte{'v'}, size)}},
		batch.EncodeOptions{ProducerID: batch.NoProducer, ProducerEpoch: -1, BaseSequence: -1})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// within runs fn and fails the test if it has not returned after d: a hang.
// The goroutine is left behind then, with whatever locks it holds.
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s hangs", what)
	}
}

// TestGroupAppendsBeyondPendingLimit: a group's appends wake no syncer, so
// once they fill a log's pending limit (a Kafka request naming the same
// partition many times, or requests of a connection whose writer is
// stuck) nothing drained them: the next append to the log, the group's
// own or any other writer's, waited for space for ever.
func TestGroupAppendsBeyondPendingLimit(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{})
	defer l.Close()
	raw := sizedProducerBatch(t, 1<<20)
	var g Group
	var as []Appended
	within(t, 20*time.Second, "a group appending past the pending limit", func() {
		for range maxPendingBytes/len(raw) + 2 {
			a, err := g.AppendBatch(l, raw)
			if err != nil {
				t.Errorf("AppendBatch: %v", err)
				return
			}
			as = append(as, a)
		}
	})
	// Appends of a group whose Commit does not come yet must not keep
	// another writer out either.
	for range maxPendingBytes/len(raw) + 2 {
		if _, err := g.AppendBatch(l, raw); err != nil {
			t.Fatalf("AppendBatch: %v", err)
		}
	}
	within(t, 20*time.Second, "a plain append behind a group's uncommitted appends", func() {
		a, err := l.Append([]batch.Record{{Value: []byte("plain")}})
		if err == nil {
			err = a.Wait(context.Background())
		}
		if err != nil {
			t.Errorf("Append: %v", err)
		}
	})
	g.Commit()
	waitAll(t, as, "group append")
}

// TestGroupCommitFillsCommitLog: a group hands every small round on to the
// commit log without waking its syncer, and only then runs the commit-log
// round; rounds adding up to more than the commit log's pending limit left
// the group waiting for space in the commit log for ever, holding the
// rounds of all its logs.
func TestGroupCommitFillsCommitLog(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	raw := sizedProducerBatch(t, 60<<10) // a round the commit log takes
	n := maxPendingBytes/len(raw) + 4
	f := openCommitFixture(t, root, n)
	f.c.everyRound = false
	var g Group
	as := make([]Appended, 0, n)
	for _, l := range f.logs {
		a, err := g.AppendBatch(l, raw)
		if err != nil {
			t.Fatalf("AppendBatch: %v", err)
		}
		as = append(as, a)
	}
	within(t, 20*time.Second, "Commit of a group whose rounds fill the commit log", g.Commit)
	requireDurable(t, as, "commit")
	if st := f.logs[0].Stats(); st.Syncs != 0 {
		t.Fatalf("log 0 fsynced %d rounds itself, want its round in the commit log", st.Syncs)
	}
	f.close(t)
}

// TestGroupCommitLogFailureWhileWritingOut: a commit-log round that fails
// while rings are being written out beside it fails the logs it carried
// (run with -race: the write-out goes on while the rounds are finished).
func TestGroupCommitLogFailureWhileWritingOut(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	faults := faultyFS{direct: true}
	c, err := OpenCommitLog(filepath.Join(root, "commitlog"), root, Options{OpenFile: faults.open})
	if err != nil {
		t.Fatal(err)
	}
	var logs []*Log
	for i := range 3 {
		l, err := Open(logDir(root, i), Options{CommitLog: c})
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
	}
	raw := sizedProducerBatch(t, 20<<10)
	var g Group
	commitUntilWriteOutDue(t, &g, logs, raw)
	faults.failSync.Store(true)
	as := groupAppendRaw(t, &g, logs, raw)
	g.Commit()
	for i, a := range as {
		if err := a.Wait(context.Background()); err == nil {
			t.Fatalf("log %d acknowledged a round the commit log failed to fsync", i)
		}
	}
	for _, l := range logs {
		_ = l.Close()
	}
	_ = c.Close()
}

// commitUntilWriteOutDue commits raw to every log through g until the
// next such commit writes out logs[0] beside its commit-log round.
func commitUntilWriteOutDue(t *testing.T, g *Group, logs []*Log, raw []byte) {
	t.Helper()
	for i := 0; !logs[0].writeOutDueAfter(len(raw)); i++ {
		if i == 100 {
			t.Fatal("the ring never fills a quarter of the way")
		}
		groupAppendRaw(t, g, logs, raw)
		g.Commit()
	}
}

// TestGroupWriteOutFailureFailsLog: a write-out beside a group's
// commit-log round that fails leaves the round acknowledged (the commit log
// holds it) and fails the log, which refuses appends until a restart
// replays the commit log.
func TestGroupWriteOutFailureFailsLog(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	var watch segmentWatch
	f := openCommitFixtureWith(t, root, 2, Options{}, Options{OpenFile: watch.open})
	defer func() { // log 0 has failed: its Close says so
		for _, l := range f.logs {
			_ = l.Close()
		}
		_ = f.c.Close()
	}()
	logs := f.logs
	raw := sizedProducerBatch(t, 20<<10)
	var g Group
	commitUntilWriteOutDue(t, &g, logs, raw)
	watch.failDirect.Store(true)
	a := groupAppendRaw(t, &g, logs, raw)[0]
	g.Commit()
	if err := a.Wait(context.Background()); err != nil {
		t.Fatalf("the round the commit log holds was not acknowledged: %v", err)
	}
	logs[0].awaitWriteOut() // it goes on after Commit
	if _, err := logs[0].AppendBatch(raw); err == nil {
		t.Fatal("a log whose write-out failed took another append")
	}
}

// writeOutDueAfter reports whether the ring, with n more deferred bytes
// than it holds now, would be written out beside a group's commit-log
// round (pickWriteOuts: a quarter full, at least).
func (l *Log) writeOutDueAfter(n int) bool {
	l.round.Lock()
	defer l.round.Unlock()
	r := &l.ring
	return r.seg != nil && r.to+int64(n)-r.disk >= int64(len(r.buf))/4
}

// TestGroupCommitGatherSkipsOwnLogs: the commit-log round a group runs
// must not wait for a log of the group itself that had announced a round
// (a plain append) and whose round the group writes to the log's own files
// (too large for the commit log): the log's arrival came only after the
// commit-log round, which waited gatherWait for it every time.
func TestGroupCommitGatherSkipsOwnLogs(t *testing.T) {
	root := t.TempDir()
	skipWithoutDirectIO(t, root)
	f := openCommitFixture(t, root, 2)
	defer f.close(t)
	f.c.everyRound = false
	var waitedForOwn bool
	gather := f.c.log.opts.beforeRound
	f.c.log.opts.beforeRound = func() { // before any round: no syncer reads it yet
		waitedForOwn = waitedForOwn || f.c.handedOn.Load() < f.c.announced.Load()
		gather()
	}
	big, small := f.logs[0], f.logs[1]
	// Hold both rounds as Commit's TryLock would, so that big's syncer,
	// kicked by the plain append, leaves its round to the group.
	big.round.Lock()
	small.round.Lock()
	if _, err := big.Append([]batch.Record{{Value: []byte("plain")}}); err != nil {
		t.Fatal(err)
	}
	var g Group
	for _, app := range []struct {
		l    *Log
		size int
	}{{big, commitRoundMax + 1}, {small, 100}} {
		if _, err := g.AppendBatch(app.l, sizedProducerBatch(t, app.size)); err != nil {
			t.Fatal(err)
		}
	}
	g.owned = append(g.owned[:0], big, small)
	g.commitShared(f.c)
	small.round.Unlock()
	big.round.Unlock()
	if waitedForOwn {
		t.Fatal("the group's commit-log round waited for one of the group's own logs")
	}
	if a, h := f.c.announced.Load(), f.c.handedOn.Load(); a != h {
		t.Fatalf("%d announcements, %d arrivals", a, h)
	}
}

// TestGroupCommittedLogReleasesIdleBuffers: a log that only groups write
// (no syncer round re-arms its idle timer) still gives its buffers back
// once it goes idle, every time.
func TestGroupCommittedLogReleasesIdleBuffers(t *testing.T) {
	c, l := openShared(t, t.TempDir(), false, Options{IdleRelease: 20 * time.Millisecond})
	defer closeShared(t, c, l)
	var g Group
	for i := range 3 {
		if _, err := g.AppendBatch(l, producerBatch(t, i)); err != nil {
			t.Fatal(err)
		}
		g.Commit()
		waitIdleRelease(t, l, fmt.Sprintf("commit %d", i))
	}
}

// waitIdleRelease waits until the idle log l has given its ring back.
func waitIdleRelease(t *testing.T, l *Log, what string) {
	t.Helper()
	testenv.WaitFor(t, what+": the idle log to give its ring back", func() bool {
		l.ring.mu.RLock()
		defer l.ring.mu.RUnlock()
		return l.ring.buf == nil
	})
}
