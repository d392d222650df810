package broker

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/storage"
)

// openTestJournal opens a journal on a fresh state log whose linger is so
// long that only a waiter or close can end it.
func openTestJournal(t *testing.T) (*journal, *storage.Log) {
	t.Helper()
	log, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	j := newJournal(log)
	j.linger = time.Hour
	return j, log
}

// A waiter ends the linger: records somebody waits for are written at
// once. A lost wake-up (a waiter arriving as the flusher decides to linger)
// would leave a wait hanging for the hour; each round gives it 10 seconds.
func TestJournalWaitEndsTheLinger(t *testing.T) {
	j, log := openTestJournal(t)
	defer j.close()
	for i := range 300 {
		seq := j.add(kindDelta, []byte{byte(i)})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := j.wait(ctx, seq)
		cancel()
		if err != nil {
			t.Fatalf("wait for record %d: %v (the linger was not ended)", i, err)
		}
	}
	if got := log.EndOffset(); got != 300 {
		t.Fatalf("state log ends at %d after 300 waited records", got)
	}
}

// Records nobody waits for linger, and close writes them.
func TestJournalCloseWritesLingeringRecords(t *testing.T) {
	j, log := openTestJournal(t)
	for i := range 5 {
		j.add(kindDelta, []byte{byte(i)})
	}
	j.close()
	if got := log.EndOffset(); got != 5 {
		t.Fatalf("state log ends at %d after close, want the 5 records", got)
	}
}

// Records nobody waits for are not written until the linger ends.
func TestJournalLingersUnawaitedRecords(t *testing.T) {
	j, log := openTestJournal(t)
	defer j.close()
	j.add(kindDelta, []byte{1})
	time.Sleep(20 * time.Millisecond)
	if got := log.EndOffset(); got != 0 {
		t.Fatalf("state log ends at %d: a record nobody waits for was written before the linger ended", got)
	}
}

// A record queued while a waited one is being written lingers: the waiter
// released by that write asked for nothing after it. Counting waiters, the
// flusher saw the released one still there and wrote the next at once.
func TestJournalLingersAfterAWaitedWrite(t *testing.T) {
	gate := &syncGate{entered: make(chan struct{}, 1), release: make(chan struct{})}
	log, err := storage.Open(t.TempDir(), storage.Options{OpenFile: gate.open})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	j := newJournal(log)
	j.linger = time.Hour
	defer j.close()

	gate.held.Store(true)
	first := j.add(kindDelta, []byte{1})
	waited := make(chan error, 1)
	go func() { waited <- j.wait(context.Background(), first) }()
	<-gate.entered // the flusher is writing the waited record
	second := j.add(kindDelta, []byte{2})
	gate.held.Store(false)
	close(gate.release)
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	j.mu.Lock()
	durable := j.durableSeq
	j.mu.Unlock()
	if durable >= second {
		t.Fatalf("record %d, which nobody waits for, was written without the linger", second)
	}
}

// syncGate holds the fsyncs of the files it opens while held is set,
// telling entered when one waits, until release is closed.
type syncGate struct {
	held    atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (g *syncGate) open(name string, flag int, perm os.FileMode) (storage.File, error) {
	f, err := storage.OpenOSFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return gatedFile{f, g}, nil
}

// gatedFile hides the O_DIRECT methods: the log writes it through the page
// cache and fsyncs it every round.
type gatedFile struct {
	storage.File
	gate *syncGate
}

func (f gatedFile) Sync() error {
	if f.gate.held.Load() {
		select {
		case f.gate.entered <- struct{}{}:
		default:
		}
		<-f.gate.release
	}
	return f.File.Sync()
}

// TestPurgeIsDurableWhenItReturns: queue.purge-ok and PurgeQueue reply to
// Purge, so its journal record is written before it returns, not left to
// linger like an ack's.
func TestPurgeIsDurableWhenItReturns(t *testing.T) {
	b := openTestBroker(t)
	g := declareQueue(t, b, "purged", StreamConfig{})
	r, err := b.Publish("", "purged", Message{Value: []byte("x")}, PublishOptions{})
	if err == nil {
		err = r.Wait(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
	j := b.journal
	j.mu.Lock()
	j.linger = time.Hour
	before := j.queuedSeq
	j.mu.Unlock()
	if n, err := g.Purge(); err != nil || n != 1 {
		t.Fatalf("Purge: %d, %v; want 1 record", n, err)
	}
	j.mu.Lock()
	durable := j.durableSeq
	j.mu.Unlock()
	if durable <= before {
		t.Fatalf("journal durable through %d after Purge, want its record past %d", durable, before)
	}
}
