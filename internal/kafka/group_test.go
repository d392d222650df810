package kafka

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupMember is a kgo consumer in a group that records what it owns and
// what it read.
type groupMember struct {
	cl    *kgo.Client
	mu    sync.Mutex
	owned map[int32]bool
}

func (tb *testBroker) joinGroup(t *testing.T, group, topic string, seen *sync.Map, opts ...kgo.Opt) *groupMember {
	m := &groupMember{owned: map[int32]bool{}}
	opts = append([]kgo.Opt{
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.HeartbeatInterval(100 * time.Millisecond), kgo.SessionTimeout(3 * time.Second),
		kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, p := range a[topic] {
				m.owned[p] = true
			}
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, cl *kgo.Client, r map[string][]int32) {
			cl.CommitMarkedOffsets(context.Background())
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, p := range r[topic] {
				delete(m.owned, p)
			}
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, r map[string][]int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, p := range r[topic] {
				delete(m.owned, p)
			}
		}),
	}, opts...)
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(tb.addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	m.cl = cl
	go func() {
		for {
			fs := cl.PollFetches(context.Background())
			if fs.IsClientClosed() {
				return
			}
			fs.EachRecord(func(r *kgo.Record) { seen.Store(fmt.Sprintf("%d/%d", r.Partition, r.Offset), string(r.Value)) })
		}
	}()
	return m
}

func (m *groupMember) partitions() map[int32]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[int32]bool{}
	for p := range m.owned {
		out[p] = true
	}
	return out
}

// waitBalanced waits until the members own every partition exactly once,
// each owning at least one.
func waitBalanced(t *testing.T, partitions int, members ...*groupMember) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		owners := map[int32]int{}
		ok := true
		for _, m := range members {
			ps := m.partitions()
			if len(ps) == 0 {
				ok = false
			}
			for p := range ps {
				owners[p]++
			}
		}
		for p := range int32(partitions) {
			if owners[p] != 1 {
				ok = false
			}
		}
		if ok && len(owners) == partitions {
			return
		}
		if time.Now().After(deadline) {
			for i, m := range members {
				t.Logf("member %d owns %v", i, m.partitions())
			}
			t.Fatal("group did not balance")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConsumerGroupOfThreeRebalances(t *testing.T) {
	tb := startBroker(t, "")
	const topic, group, partitions, n = "orders", "billing", 6, 600
	tb.createTopic(topic, partitions)
	prod := tb.client(kgo.DefaultProduceTopic(topic))
	produce := func(from, to int) {
		var recs []*kgo.Record
		for i := from; i < to; i++ {
			recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprint("key-", i)), Value: []byte(fmt.Sprint(i))})
		}
		if err := prod.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(0, n/3)
	var seen sync.Map
	a := tb.joinGroup(t, group, topic, &seen)
	defer a.cl.Close()
	waitBalanced(t, partitions, a)
	b := tb.joinGroup(t, group, topic, &seen)
	defer b.cl.Close()
	waitBalanced(t, partitions, a, b)
	c := tb.joinGroup(t, group, topic, &seen)
	waitBalanced(t, partitions, a, b, c)
	produce(n/3, 2*n/3)

	// Each member owning its share can be seen between the two rounds of a
	// cooperative rebalance too, so wait for the group to settle.
	adm := kadm.NewClient(tb.client())
	if members := waitGroupState(t, adm, group, "Stable"); len(members) != 3 {
		t.Fatalf("describe: Stable with %d members, want 3", len(members))
	}

	c.cl.Close() // leaves the group
	waitBalanced(t, partitions, a, b)
	produce(2*n/3, n)

	deadline := time.Now().Add(20 * time.Second)
	for {
		count := 0
		seen.Range(func(any, any) bool { count++; return true })
		if count == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("group read %d of %d records", count, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	groups, err := adm.ListGroups(testCtx(t))
	if _, ok := groups[group]; err != nil || !ok {
		t.Fatalf("list groups: %v %v", groups, err)
	}
}

func TestDeleteGroupsAndOffsets(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("dg", 2)
	adm := kadm.NewClient(tb.client())
	ctx := testCtx(t)
	prod := tb.client(kgo.DefaultProduceTopic("dg"))
	if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var seen sync.Map
	m := tb.joinGroup(t, "dg-group", "dg", &seen)
	waitBalanced(t, 2, m)
	commit := kadm.Offsets{}
	commit.Add(kadm.Offset{Topic: "dg", Partition: 0, At: 1})
	// A member of the group commits through its own client.
	var commitErr error
	m.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{"dg": {0: {Epoch: -1, Offset: 1}}},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
			commitErr = err
		})
	if commitErr != nil {
		t.Fatal(commitErr)
	}
	if resp, err := adm.DeleteGroup(ctx, "dg-group"); err == nil && resp.Err == nil {
		t.Fatal("deleted a group with a member")
	}
	m.cl.Close()
	described, _ := adm.DescribeGroups(ctx, "dg-group")
	if d := described["dg-group"]; d.State != "Empty" {
		t.Fatalf("after the member left: %s", d.State)
	}
	if resp, err := adm.DeleteGroup(ctx, "dg-group"); err != nil || resp.Err != nil {
		t.Fatalf("delete empty group: %v %v", err, resp.Err)
	}
	offsets, err := adm.FetchOffsets(ctx, "dg-group")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := offsets.Lookup("dg", 0); ok {
		t.Fatal("offsets survived the group's deletion")
	}
	// A group-less client may commit for an empty group (generation -1).
	if _, err := adm.CommitOffsets(ctx, "manual", commit); err != nil {
		t.Fatal(err)
	}
	if o, err := adm.FetchOffsets(ctx, "manual"); err != nil || o["dg"][0].At != 1 {
		t.Fatalf("manual commit: %v %v", o, err)
	}
}
