package loadgen

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/server/servertest"
)

// TestFetchHookSeesOnlySentFetches checks the hook behind a member's
// fetched mark: group and offset requests, and a Fetch that failed to go
// out, do not count; each written Fetch does.
func TestFetchHookSeesOnlySentFetches(t *testing.T) {
	calls := 0
	hook := fetchHook(func() { calls++ })
	var broker kgo.BrokerMetadata
	hook.OnBrokerWrite(broker, int16(kmsg.JoinGroup), 100, 0, 0, nil)
	hook.OnBrokerWrite(broker, int16(kmsg.ListOffsets), 100, 0, 0, nil)
	hook.OnBrokerWrite(broker, int16(kmsg.Fetch), 0, 0, 0, errors.New("connection reset"))
	hook.OnBrokerWrite(broker, int16(kmsg.Fetch), 100, 0, 0, nil)
	hook.OnBrokerWrite(broker, int16(kmsg.Fetch), 100, 0, 0, nil)
	if calls != 2 {
		t.Fatalf("hook called %d times, want 2 (the written Fetches)", calls)
	}
}

// TestGroupReadinessWaitsForTheCooperativeRound plays a second member
// joining a group whose first member already consumes both partitions:
// the group is ready only once the second round has given the newcomer its
// share and the newcomer fetches, whatever order the members report in.
func TestGroupReadinessWaitsForTheCooperativeRound(t *testing.T) {
	isReady := func(r *groupReadiness) bool {
		select {
		case <-r.ready:
			return true
		default:
			return false
		}
	}
	r := newGroupReadiness(2, 2)
	steps := []struct {
		name  string
		do    func()
		ready bool
	}{
		{"member 0 gets both partitions", func() { r.assigned(0, 1, 2) }, false},
		{"member 0 fetches", func() { r.fetched(0) }, false}, // member 1 has not been assigned
		{"member 1's empty first round, before member 0 hears of it", func() { r.assigned(1, 2, 0) }, false},
		{"member 0 gives one up", func() { r.revoked(0, 1) }, false},
		{"member 0's round 2", func() { r.assigned(0, 2, 0) }, false}, // one partition unheld
		{"member 1 gets its share", func() { r.assigned(1, 3, 1) }, false},
		{"member 0's round 3", func() { r.assigned(0, 3, 0) }, false}, // member 1 not fetching
		{"member 1 fetches", func() { r.fetched(1) }, true},
	}
	for _, s := range steps {
		s.do()
		if got := isReady(r); got != s.ready {
			t.Fatalf("after %s: ready %v, want %v", s.name, got, s.ready)
		}
	}

	// A member the balancer leaves without partitions never fetches.
	r = newGroupReadiness(2, 1)
	r.assigned(1, 1, 1)
	r.assigned(0, 1, 0)
	r.fetched(1)
	if !isReady(r) {
		t.Fatal("a group whose only holder fetches is not ready")
	}
}

// TestKafkaConsumersBecomeReady opens every member of a group and waits
// for each to be ready, with as many members as partitions and with more:
// a member the group gives no partition never fetches, and must not keep
// the run from starting.
func TestKafkaConsumersBecomeReady(t *testing.T) {
	addr := servertest.Start(t).Kafka
	for _, layout := range []struct{ topics, partitions, consumers int }{{2, 2, 4}, {1, 1, 3}} {
		cfg := DefaultConfig()
		cfg.Protocol, cfg.Addr = "kafka", addr
		cfg.Queues, cfg.Partitions, cfg.Consumers = layout.topics, layout.partitions, layout.consumers
		cfg.Prefix = fmt.Sprintf("ready-%d-%d", layout.topics, layout.partitions)
		w := newKafkaWorkload(cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := w.setup(ctx); err != nil {
			t.Fatal(err)
		}
		var members []consumer
		for m := range cfg.Consumers {
			c, err := w.newConsumer(ctx, 0, m)
			if err != nil {
				t.Fatal(err)
			}
			members = append(members, c)
		}
		for m, c := range members {
			if err := c.(readier).waitReady(ctx); err != nil {
				t.Errorf("%d topics of %d partitions, %d members: member %d not ready: %v", layout.topics, layout.partitions, layout.consumers, m, err)
			}
		}
		for _, c := range members {
			_ = c.close()
		}
		cancel()
	}
}
