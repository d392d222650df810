package storage

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
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
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, a := range as {
		if err := a.Wait(ctx); err != nil {
			t.Fatalf("group append: %v", err)
		}
	}
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
