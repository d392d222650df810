package broker_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/crashtest"
)

// crashChildEnv makes the test binary act as the child: a broker that
// appends from several writers and prints each acknowledged offset.
const crashChildEnv = "GANNET_CRASH_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		runCrashChild(dir, os.Getenv("GANNET_CRASH_ROUND"))
		return
	}
	os.Exit(m.Run())
}

func runCrashChild(dir, round string) {
	b, err := broker.Open(broker.Options{DataDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(1)
	}
	if _, _, err := b.DeclareStream("crash", broker.StreamConfig{Kind: broker.KindQueue, Durable: true}); err != nil {
		fmt.Fprintln(os.Stderr, "declare:", err)
		os.Exit(1)
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for seq := 0; ; seq++ {
				value := fmt.Sprintf("r%s-w%d-%d", round, w, seq)
				r, err := b.Publish("", "crash", broker.Message{Value: []byte(value)}, broker.PublishOptions{})
				if err == nil {
					err = r.Wait(context.Background())
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "publish:", err)
					os.Exit(1)
				}
				out.Lock()
				fmt.Printf("ACK %d %s\n", r.Base, value)
				out.Unlock()
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
		Command: func(round int) *exec.Cmd {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, "GANNET_CRASH_ROUND="+strconv.Itoa(round))
			return cmd
		},
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
