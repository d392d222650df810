package broker_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/crashtest"
)

func TestMain(m *testing.M) {
	if crashtest.Child(runCrashChild) {
		return
	}
	os.Exit(m.Run())
}

// runCrashChild is the crash test's child: a broker that appends from
// several writers and prints each acknowledged offset.
func runCrashChild(dir string, round int) {
	b, err := broker.Open(broker.Options{DataDir: dir})
	if err != nil {
		crashtest.Fail("open", err)
	}
	if _, _, err := b.DeclareStream("crash", broker.StreamConfig{Kind: broker.KindQueue, Durable: true}); err != nil {
		crashtest.Fail("declare", err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for seq := 0; ; seq++ {
				value := fmt.Sprintf("r%d-w%d-%d", round, w, seq)
				r, err := b.Publish("", "crash", broker.Message{Value: []byte(value)}, broker.PublishOptions{})
				if err == nil {
					err = r.Wait(context.Background())
				}
				if err != nil {
					crashtest.Fail("publish", err)
				}
				crashtest.Ack("%d %s", r.Base, value)
			}
		}(w)
	}
	wg.Wait()
}

func TestSIGKILLLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test starts and kills 20 processes")
	}
	dir := t.TempDir()
	acks := crashtest.Run(t, crashtest.Options{
		Rounds:  20,
		MinAcks: 50,
		Seed:    1,
		Command: crashtest.Rerun(dir),
	})
	if len(acks) < 20*50 {
		t.Fatalf("only %d acknowledgements collected", len(acks))
	}
	b, err := broker.Open(broker.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("reopen after crashes: %v", err)
	}
	defer b.Close()
	p, err := b.Partition("crash", 0)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[int64]string{}
	for off := p.StartOffset(); off < p.EndOffset(); {
		recs, err := p.Read(off, 1<<20, 0)
		if err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		for _, r := range recs {
			stored[r.Offset] = string(r.Value)
			off = r.Offset + 1
		}
	}
	lastOffsetOfWriter := map[string]int64{}
	for _, a := range acks {
		fields := strings.Fields(a)
		off, _ := strconv.ParseInt(fields[0], 10, 64)
		if got, ok := stored[off]; !ok || got != fields[1] {
			t.Fatalf("acknowledged %q at offset %d, found %q (present=%v)", fields[1], off, got, ok)
		}
		writer := fields[1][:strings.LastIndex(fields[1], "-")]
		if prev, ok := lastOffsetOfWriter[writer]; ok && off <= prev {
			t.Fatalf("writer %s acknowledged offset %d after %d: order broken", writer, off, prev)
		}
		lastOffsetOfWriter[writer] = off
	}
	t.Logf("%d acknowledged records over 20 SIGKILLs, all present and in order (%d stored)", len(acks), len(stored))
}
