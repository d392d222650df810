package broker

import (
	"context"
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
	if got := log.EndOffset(); got == 0 {
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
