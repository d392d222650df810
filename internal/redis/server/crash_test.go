package server

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/crashtest"
)

func TestMain(m *testing.M) {
	if crashtest.Child(runCrashChild) {
		return
	}
	os.Exit(m.Run())
}

// runCrashChild is the child of the SIGKILL test: a broker with the Redis
// front-end and a go-redis client that adds entries (pipelined, so several
// share an fsync), reads them through a consumer group and acknowledges
// every other one, printing "ACK add <id>" after each XADD reply and
// "ACK ack <id>" after each XACK reply.
func runCrashChild(dir string, _ int) {
	b, err := broker.Open(broker.Options{DataDir: dir})
	if err != nil {
		crashtest.Fail("open", err)
	}
	srv, err := New(Deps{Broker: b})
	if err != nil {
		crashtest.Fail("new", err)
	}
	l := crashtest.Listen()
	go srv.Serve(l)
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: l.Addr().String(), MaxRetries: -1})
	if err := c.XGroupCreateMkStream(ctx, "crash", "g", "0").Err(); err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		crashtest.Fail("group", err)
	}
	for n := 0; ; n++ {
		pipe := c.Pipeline()
		adds := make([]*redis.StringCmd, 8)
		for i := range adds {
			adds[i] = pipe.XAdd(ctx, &redis.XAddArgs{Stream: "crash", Values: []string{"n", strconv.Itoa(n*8 + i)}})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			crashtest.Fail("xadd", err)
		}
		for _, a := range adds {
			crashtest.Ack("add %s", a.Val())
		}
		got, err := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{"crash", ">"}, Count: 4, Block: -1}).Result()
		if err != nil && err != redis.Nil {
			crashtest.Fail("xreadgroup", err)
		}
		for _, s := range got {
			for i, m := range s.Messages {
				if i%2 == 1 {
					continue
				}
				// A kill between the XACK and its line leaves an entry
				// settled that the parent did not see acknowledged.
				crashtest.Ack("acking %s", m.ID)
				if err := c.XAck(ctx, "crash", "g", m.ID).Err(); err != nil {
					crashtest.Fail("xack", err)
				}
				crashtest.Ack("ack %s", m.ID)
			}
		}
	}
}

func TestSIGKILLKeepsEntriesAndPendingLists(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills child processes")
	}
	dir := t.TempDir()
	acks := crashtest.Run(t, crashtest.Options{
		Rounds: 6, MinAcks: 40, MaxDelay: 200 * time.Millisecond, Seed: 5,
		Command: crashtest.Rerun(dir),
	})
	added, acked, acking := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, a := range acks {
		kind, id, _ := strings.Cut(a, " ")
		switch kind {
		case "add":
			added[id] = true
		case "ack":
			acked[id] = true
		default:
			acking[id] = true
		}
	}
	if len(added) < 6*20 {
		t.Fatalf("only %d entries acknowledged", len(added))
	}
	ts := startServer(t, dir)
	c := ts.client(2)
	present := map[string]bool{}
	for _, m := range c.XRange(ctx, "crash", "-", "+").Val() {
		present[m.ID] = true
	}
	for id := range added {
		if !present[id] {
			t.Fatalf("acknowledged XADD %s lost", id)
		}
	}
	// Every entry is settled, pending, or still to be delivered: none
	// vanished from the group, and no acknowledged one came back.
	pending := map[string]bool{}
	for _, p := range c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "crash", Group: "g", Start: "-", End: "+", Count: 1 << 20}).Val() {
		pending[p.ID] = true
		if acked[p.ID] {
			t.Fatalf("acknowledged entry %s is pending again", p.ID)
		}
	}
	undelivered := map[string]bool{}
	for _, s := range c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "check", Streams: []string{"crash", ">"}, Block: -1}).Val() {
		for _, m := range s.Messages {
			undelivered[m.ID] = true
			if acked[m.ID] {
				t.Fatalf("acknowledged entry %s delivered again", m.ID)
			}
		}
	}
	for id := range added {
		if !acked[id] && !acking[id] && !pending[id] && !undelivered[id] {
			t.Fatalf("entry %s neither acknowledged, pending nor deliverable", id)
		}
	}
	t.Logf("%d entries, %d acknowledged, %d pending, %d undelivered after %d kills", len(added), len(acked), len(pending), len(undelivered), 6)
}
