package kafka

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func partitionCount(t *testing.T, adm *kadm.Client, topic string) int {
	t.Helper()
	td, err := adm.ListTopics(testCtx(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := td[topic]
	if !ok || d.Err != nil {
		t.Fatalf("metadata for %s: %+v", topic, d)
	}
	return len(d.Partitions)
}

func TestCreatePartitionsGrowsATopic(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("grow", 2)
	adm := kadm.NewClient(tb.client())
	ctx := testCtx(t)

	// validate_only changes nothing.
	rs, err := adm.ValidateCreatePartitions(ctx, 2, "grow")
	if err != nil || rs.Error() != nil {
		t.Fatalf("validate: %v %v", err, rs.Error())
	}
	if n := partitionCount(t, adm, "grow"); n != 2 {
		t.Fatalf("validate_only grew the topic to %d", n)
	}

	rs, err = adm.CreatePartitions(ctx, 2, "grow")
	if err != nil || rs.Error() != nil {
		t.Fatalf("CreatePartitions: %v %v", err, rs.Error())
	}
	if n := partitionCount(t, adm, "grow"); n != 4 {
		t.Fatalf("partitions after CreatePartitions = %d", n)
	}
	for _, set := range []int{4, 3} {
		rs, err = adm.UpdatePartitions(ctx, set, "grow")
		if err != nil {
			t.Fatal(err)
		}
		if r := rs["grow"]; !errors.Is(r.Err, kerr.InvalidPartitions) {
			t.Fatalf("UpdatePartitions(%d) = %v, want INVALID_PARTITIONS", set, r.Err)
		}
	}
	rs, err = adm.UpdatePartitions(ctx, 5, "grow")
	if err != nil || rs.Error() != nil {
		t.Fatalf("UpdatePartitions(5): %v %v", err, rs.Error())
	}

	// Produce to the new partitions with a client that learns the new count.
	prod := tb.client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for _, p := range []int32{2, 3, 4} {
		r := &kgo.Record{Topic: "grow", Partition: p, Value: []byte{byte('0' + p)}}
		if err := prod.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce to partition %d: %v", p, err)
		}
	}
	cons := tb.client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		"grow": {3: kgo.NewOffset().AtStart(), 4: kgo.NewOffset().AtStart()},
	}))
	recs := consumeN(t, cons, 2)
	got := map[int32]string{}
	for _, r := range recs {
		got[r.Partition] = string(r.Value)
		if r.Offset != 0 {
			t.Fatalf("record in a new partition at offset %d", r.Offset)
		}
	}
	if got[3] != "3" || got[4] != "4" {
		t.Fatalf("consumed %v", got)
	}
}

func TestCreatePartitionsRefusals(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("fixed", 1)
	cl := tb.client()
	ctx := testCtx(t)

	ask := func(topic string, count int32, validate bool, replicas ...int32) (int16, *string) {
		t.Helper()
		req := kmsg.NewPtrCreatePartitionsRequest()
		req.ValidateOnly = validate
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = topic, count
		if replicas != nil {
			a := kmsg.NewCreatePartitionsRequestTopicAssignment()
			a.Replicas = replicas
			rt.Assignment = append(rt.Assignment, a)
		}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || len(resp.Topics) != 1 {
			t.Fatalf("CreatePartitions: %v %+v", err, resp)
		}
		return resp.Topics[0].ErrorCode, resp.Topics[0].ErrorMessage
	}
	if code, _ := ask("nope", 3, false); code != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("missing topic: %v", kerr.ErrorForCode(code))
	}
	if code, _ := ask("fixed", 1, false); code != kerr.InvalidPartitions.Code {
		t.Errorf("same count: %v", kerr.ErrorForCode(code))
	}
	if code, _ := ask("fixed", 10001, true); code != kerr.InvalidPartitions.Code {
		t.Errorf("too many: %v", kerr.ErrorForCode(code))
	}
	if code, _ := ask("fixed", 2, false, 7); code != kerr.InvalidReplicaAssignment.Code {
		t.Errorf("assignment to another broker: %v", kerr.ErrorForCode(code))
	}
	if code, msg := ask("fixed", 2, true, nodeID); code != 0 {
		t.Errorf("assignment to this broker, validate only: %v %v", kerr.ErrorForCode(code), msg)
	}
	if info, _ := tb.b.Stream("fixed"); info.Config.Partitions != 1 {
		t.Errorf("refusals and validation changed the count to %d", info.Config.Partitions)
	}
	if code, msg := ask("fixed", 2, false, nodeID); code != 0 {
		t.Errorf("assignment to this broker: %v %v", kerr.ErrorForCode(code), msg)
	}
	if info, _ := tb.b.Stream("fixed"); info.Config.Partitions != 2 {
		t.Errorf("count after growth = %d", info.Config.Partitions)
	}
}
