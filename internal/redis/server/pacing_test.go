package server

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gannet-mq/gannet/internal/broker"
)

// TestXAddPacedOnlyForGroupsBeingRead pipelines XADDs with go-redis: to a
// stream whose group nobody reads they are never held, however far the
// group falls behind; once a consumer reads the group (and then stops
// draining it), a pipeline that grows the backlog past FlowBacklog is held
// for broker.PaceMaxPause before pacing gives up.
func TestXAddPacedOnlyForGroupsBeingRead(t *testing.T) {
	ts := startServerWith(t, "", func(d *Deps) { d.FlowBacklog = 100 })
	ctx := context.Background()
	c := ts.client(3)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.XGroupCreateMkStream(ctx, "s", "g", "$").Err())
	// pipeline sends n XADDs in one pipeline and reports how long they took.
	pipeline := func(n int) time.Duration {
		t.Helper()
		start := time.Now()
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for range n {
				p.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: []string{"f", "v"}})
			}
			return nil
		})
		must(err)
		return time.Since(start)
	}
	// A hold here would find nobody draining and turn pacing off for
	// broker.PaceOffPeriod, so the held pipeline below would not be held:
	// that, not a time bound a loaded machine could exceed, is what fails
	// if a group nobody reads paces its producers.
	start := time.Now()
	for range 3 {
		pipeline(150)
	}
	if d := time.Since(start); d > broker.PaceOffPeriod/2 {
		t.Skipf("the unread pipelines took %v: too slow a machine to tell a hold from pacing turned off", d)
	}
	// A consumer reads once: the group is being read, 449 entries behind.
	must(c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{"s", ">"}, Count: 1}).Err())
	pipeline(broker.PaceCheckEvery) // the first check only records the backlog
	if d := pipeline(broker.PaceCheckEvery); d < broker.PaceMaxPause {
		t.Fatalf("a growing backlog of a group being read held XADD for %v, want at least %v", d, broker.PaceMaxPause)
	}
}
