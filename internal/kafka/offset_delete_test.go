package kafka

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// committedPartitions lists group's committed offsets as topic -> partition
// -> offset.
func committedPartitions(t *testing.T, adm *kadm.Client, group string) map[string]map[int32]int64 {
	t.Helper()
	fetched, err := adm.FetchOffsets(testCtx(t), group)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[int32]int64{}
	fetched.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil {
			t.Fatalf("fetch offsets %s/%d: %v", o.Topic, o.Partition, o.Err)
		}
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.At
	})
	return out
}

// commitOffsets commits offsets for group from outside it (generation -1),
// as an admin client does.
func commitOffsets(t *testing.T, adm *kadm.Client, group string, offsets ...kadm.Offset) {
	t.Helper()
	commit := kadm.Offsets{}
	for _, o := range offsets {
		commit.Add(o)
	}
	if resp, err := adm.CommitOffsets(testCtx(t), group, commit); err != nil || resp.Error() != nil {
		t.Fatalf("commit %v: %v %v", offsets, err, resp.Error())
	}
}

// OffsetDelete removes an empty group's offsets, spares those of topics
// an active consumer group subscribes to (GROUP_SUBSCRIBED_TO_TOPIC) while
// removing the others, refuses unknown groups and partitions as Kafka does,
// and what it deleted stays deleted after a restart.
func TestOffsetDelete(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("od", 2)
	tb.createTopic("od-other", 2)
	adm := kadm.NewClient(tb.client())
	ctx := testCtx(t)
	const group = "od-group"
	commitOffsets(t, adm, group,
		kadm.Offset{Topic: "od", Partition: 0, At: 10},
		kadm.Offset{Topic: "od", Partition: 1, At: 11},
		kadm.Offset{Topic: "od-other", Partition: 0, At: 12})

	// Empty group: the offset goes; a partition without one is fine too,
	// one that does not exist is not.
	deleted, err := adm.DeleteOffsets(ctx, group, kadm.TopicsSet{"od": {0: {}}, "od-other": {1: {}, 5: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := deleted["od"][0]; err != nil {
		t.Fatalf("delete od/0 of an empty group: %v", err)
	}
	if err, ok := deleted["od-other"][1]; !ok || err != nil {
		t.Fatalf("delete a partition without an offset: answered %v, %v", ok, err)
	}
	if err := deleted["od-other"][5]; !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("delete a partition that does not exist: %v", err)
	}
	if got := committedPartitions(t, adm, group); len(got["od"]) != 1 || got["od"][1] != 11 || got["od-other"][0] != 12 {
		t.Fatalf("after deleting od/0: %v", got)
	}
	if _, err := adm.DeleteOffsets(ctx, "no-such-group", kadm.TopicsSet{"od": {0: {}}}); !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatalf("unknown group: %v", err)
	}

	// A member subscribed to od: its offsets stay, od-other's go.
	var seen sync.Map
	m := tb.joinGroup(t, group, "od", &seen, kgo.DisableAutoCommit())
	defer m.cl.Close()
	waitBalanced(t, 2, m)
	deleted, err = adm.DeleteOffsets(ctx, group, kadm.TopicsSet{"od": {1: {}}, "od-other": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := deleted["od"][1]; !errors.Is(err, kerr.GroupSubscribedToTopic) {
		t.Fatalf("delete a subscribed topic's offset: %v", err)
	}
	if err := deleted["od-other"][0]; err != nil {
		t.Fatalf("delete an unsubscribed topic's offset: %v", err)
	}
	want := map[string]map[int32]int64{"od": {1: 11}}
	if got := committedPartitions(t, adm, group); len(got) != 1 || len(got["od"]) != 1 || got["od"][1] != 11 {
		t.Fatalf("after deleting with a member: %v, want %v", got, want)
	}
	m.cl.Close()

	tb.stop()
	tb = startBroker(t, tb.dir)
	adm = kadm.NewClient(tb.client())
	if got := committedPartitions(t, adm, group); len(got) != 1 || len(got["od"]) != 1 || got["od"][1] != 11 {
		t.Fatalf("after a restart: %v, want %v", got, want)
	}
}

// A group with members that does not use the consumer protocol refuses
// OffsetDelete as a whole (NON_EMPTY_GROUP), as Kafka does: its members'
// subscriptions cannot be read.
func TestOffsetDeleteNonConsumerGroup(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("odc", 1)
	cl := tb.client()
	ctx := testCtx(t)
	const session = 30 * time.Second
	join := joinRequest("odc-group", memberID(t, cl, "odc-group", session, session), nil, session, session)
	join.ProtocolType = "connect"
	if resp, err := join.RequestWith(ctx, cl); err != nil || resp.ErrorCode != 0 {
		t.Fatalf("join: %v %+v", err, resp)
	}
	_, err := kadm.NewClient(cl).DeleteOffsets(ctx, "odc-group", kadm.TopicsSet{"odc": {0: {}}})
	if !errors.Is(err, kerr.NonEmptyGroup) {
		t.Fatalf("delete offsets of a connect group with a member: %v", err)
	}
}

// A group without members that loses its last offset is gone, as Kafka's
// coordinator makes an empty group without offsets Dead: DescribeGroups
// says Dead and the next OffsetDelete gets GROUP_ID_NOT_FOUND.
func TestOffsetDeleteOfTheLastOffsetDropsAnEmptyGroup(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("odd", 1)
	adm := kadm.NewClient(tb.client())
	ctx := testCtx(t)
	const group = "odd-group"
	commitOffsets(t, adm, group, kadm.Offset{Topic: "odd", Partition: 0, At: 5})
	// A member that comes and goes leaves the coordinator an empty group.
	var seen sync.Map
	m := tb.joinGroup(t, group, "odd", &seen, kgo.DisableAutoCommit())
	waitBalanced(t, 1, m)
	m.cl.Close()
	waitGroupState(t, adm, group, "Empty")

	deleted, err := adm.DeleteOffsets(ctx, group, kadm.TopicsSet{"odd": {0: {}}})
	if err != nil || deleted["odd"][0] != nil {
		t.Fatalf("delete the last offset: %v %v", err, deleted)
	}
	if state, members := describeGroup(t, adm, group); state != "Dead" || len(members) != 0 {
		t.Fatalf("after its last offset went: %s with %v, want Dead", state, members)
	}
	if _, err := adm.DeleteOffsets(ctx, group, kadm.TopicsSet{"odd": {0: {}}}); !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatalf("delete from the dropped group: %v, want GROUP_ID_NOT_FOUND", err)
	}
}
