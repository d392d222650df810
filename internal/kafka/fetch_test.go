package kafka

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestSeekByOffsetAndTimestamp(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("seek", 1)
	prod := tb.client(kgo.DefaultProduceTopic("seek"))
	base := time.UnixMilli(1_700_000_000_000)
	var recs []*kgo.Record
	for i := range 100 {
		recs = append(recs, &kgo.Record{Value: []byte(fmt.Sprint(i)), Timestamp: base.Add(time.Duration(i) * time.Second)})
	}
	if err := prod.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	byOffset := tb.client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"seek": {0: kgo.NewOffset().At(40)}}))
	if got := consumeN(t, byOffset, 1)[0]; got.Offset != 40 || string(got.Value) != "40" {
		t.Fatalf("seek to 40 read offset %d %q", got.Offset, got.Value)
	}
	byTime := tb.client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"seek": {0: kgo.NewOffset().AfterMilli(base.Add(70*time.Second - time.Millisecond).UnixMilli())}}))
	if got := consumeN(t, byTime, 1)[0]; got.Offset != 70 || !got.Timestamp.Equal(base.Add(70*time.Second)) {
		t.Fatalf("seek to time 70s read offset %d at %v", got.Offset, got.Timestamp)
	}

	adm := kadm.NewClient(tb.client())
	ctx := testCtx(t)
	start, err := adm.ListStartOffsets(ctx, "seek")
	end, err2 := adm.ListEndOffsets(ctx, "seek")
	at, err3 := adm.ListOffsetsAfterMilli(ctx, base.Add(30*time.Second).UnixMilli(), "seek")
	if err != nil || err2 != nil || err3 != nil {
		t.Fatal(err, err2, err3)
	}
	s, _ := start.Lookup("seek", 0)
	e, _ := end.Lookup("seek", 0)
	a, _ := at.Lookup("seek", 0)
	if s.Offset != 0 || e.Offset != 100 || a.Offset != 30 || a.Timestamp != base.Add(30*time.Second).UnixMilli() {
		t.Fatalf("start %d end %d at-30s %d (ts %d)", s.Offset, e.Offset, a.Offset, a.Timestamp)
	}

	// DeleteRecords moves the start; a fetch below it is out of range.
	if _, err := adm.DeleteRecords(ctx, kadm.Offsets{"seek": {0: {Topic: "seek", Partition: 0, At: 50}}}); err != nil {
		t.Fatal(err)
	}
	start, _ = adm.ListStartOffsets(ctx, "seek")
	if s, _ := start.Lookup("seek", 0); s.Offset != 50 {
		t.Fatalf("start after delete records: %d", s.Offset)
	}
	// A produce answer reports the moved start.
	if p := produceRaw(t, tb.client(), "seek", rawBatch(t, -1, -1, -1, 1)); p.ErrorCode != 0 || p.BaseOffset != 100 || p.LogStartOffset != 50 {
		t.Fatalf("produce after delete records: error %d, base %d, log start %d", p.ErrorCode, p.BaseOffset, p.LogStartOffset)
	}
}

func TestKeyPartitioningKeepsPerKeyOrder(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("keys", 8)
	prod := tb.client(kgo.DefaultProduceTopic("keys"), kgo.RequiredAcks(kgo.AllISRAcks()))
	const n, keys = 2000, 25
	ctx := testCtx(t)
	for i := range n {
		prod.Produce(ctx, &kgo.Record{Key: []byte(fmt.Sprint("user-", i%keys)), Value: []byte(fmt.Sprint(i))}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Error(err)
			}
		})
	}
	if err := prod.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cons := tb.client(kgo.ConsumeTopics("keys"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	partitionOf := map[string]int32{}
	last := map[string]int{}
	for _, r := range consumeN(t, cons, n) {
		k := string(r.Key)
		var v int
		fmt.Sscan(string(r.Value), &v)
		if p, ok := partitionOf[k]; ok && p != r.Partition {
			t.Fatalf("key %s on partitions %d and %d", k, p, r.Partition)
		}
		partitionOf[k] = r.Partition
		if prev, ok := last[k]; ok && v <= prev {
			t.Fatalf("key %s: %d after %d", k, v, prev)
		}
		last[k] = v
	}
	used := map[int32]bool{}
	for _, p := range partitionOf {
		used[p] = true
	}
	if len(used) < 4 {
		t.Fatalf("25 keys landed on only %d of 8 partitions", len(used))
	}
}

func TestAdminConfigsAndTopics(t *testing.T) {
	tb := startBroker(t, "")
	adm := kadm.NewClient(tb.client())
	ctx := testCtx(t)
	retention, policy := "3600000", "delete"
	if resp, err := adm.CreateTopic(ctx, 3, 1, map[string]*string{"retention.ms": &retention, "cleanup.policy": &policy}, "cfg"); err != nil || resp.Err != nil {
		t.Fatal(err, resp.Err)
	}
	compact := "compact"
	if resp, _ := adm.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": &compact}, "cfg-compact"); resp.Err == nil {
		t.Fatal("a compacted topic was created")
	}
	if resp, _ := adm.CreateTopic(ctx, 3, 1, nil, "cfg"); resp.Err == nil {
		t.Fatal("creating an existing topic succeeded")
	}
	rc, err := adm.DescribeTopicConfigs(ctx, "cfg")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := rc.On("cfg", nil); err != nil || !hasConfig(v.Configs, "retention.ms", "3600000") {
		t.Fatalf("describe: %v %v", v.Configs, err)
	}
	bytes := "1048576"
	alter, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.bytes", Value: &bytes}}, "cfg")
	if err != nil || alter[0].Err != nil {
		t.Fatal(err, alter)
	}
	info, _ := tb.b.Stream("cfg")
	if info.Config.RetentionBytes != 1<<20 || info.Config.RetentionAge != time.Hour {
		t.Fatalf("stream config after alter: %+v", info.Config)
	}
	bad := "x"
	if alter, _ := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &bad}}, "cfg"); alter[0].Err == nil {
		t.Fatal("a non-numeric retention was accepted")
	}
	// A validate-only create reports a bad config with its reason, whatever
	// the order of the good ones around it, and creates nothing.
	for range 5 {
		vc := kmsg.NewPtrCreateTopicsRequest()
		vc.ValidateOnly = true
		ct := kmsg.NewCreateTopicsRequestTopic()
		ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "cfg-validate", 1, 1
		for name, value := range map[string]string{"retention.ms": "x", "retention.bytes": "5", "max.message.bytes": "1000"} {
			c := kmsg.NewCreateTopicsRequestTopicConfig()
			c.Name, c.Value = name, kmsg.StringPtr(value)
			ct.Configs = append(ct.Configs, c)
		}
		vc.Topics = append(vc.Topics, ct)
		vr, err := vc.RequestWith(ctx, tb.client())
		if err != nil || vr.Topics[0].ErrorCode != kerr.InvalidConfig.Code || vr.Topics[0].ErrorMessage == nil {
			t.Fatalf("validate-only create with a bad config: %v %+v", err, vr)
		}
	}
	if _, err := tb.b.Stream("cfg-validate"); err == nil {
		t.Fatal("a validate-only create made the topic")
	}
	cluster, err := adm.BrokerMetadata(ctx)
	if err != nil || len(cluster.Brokers) != 1 || cluster.Brokers[0].NodeID != 0 {
		t.Fatalf("cluster: %+v %v", cluster, err)
	}
	dc, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, tb.client())
	if err != nil || dc.ClusterID != clusterID || len(dc.Brokers) != 1 {
		t.Fatalf("describe cluster: %+v %v", dc, err)
	}
	if _, err := adm.DeleteTopics(ctx, "cfg"); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.b.Stream("cfg"); err == nil {
		t.Fatal("topic still there after delete")
	}
}

func hasConfig(cs []kadm.Config, name, value string) bool {
	for _, c := range cs {
		if c.Key == name && c.Value != nil && *c.Value == value {
			return true
		}
	}
	return false
}

// A fetch at the end waits up to MaxWait and answers as soon as data comes.
func TestFetchLongPoll(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("poll", 1)
	cl := tb.client()
	fetch := func(maxWait int32) *kmsg.FetchResponse {
		req := kmsg.NewPtrFetchRequest()
		req.MaxWaitMillis, req.MinBytes, req.MaxBytes = maxWait, 1, 1<<20
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = "poll"
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = 0, 0, 1<<20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(testCtx(t), cl.Broker(int(nodeID)))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := fetch(20); len(resp.Topics[0].Partitions[0].RecordBatches) != 0 {
		t.Fatal("data from an empty partition")
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		tb.client(kgo.DefaultProduceTopic("poll")).ProduceSync(testCtx(t), &kgo.Record{Value: []byte("late")})
	}()
	resp := fetch(20_000)
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 || len(p.RecordBatches) == 0 || p.HighWatermark != 1 {
		t.Fatalf("long poll: error %d, %d bytes, high watermark %d", p.ErrorCode, len(p.RecordBatches), p.HighWatermark)
	}
}

// Fetch, ListOffsets and OffsetForLeaderEpoch refuse a current leader
// epoch later than the only one there is (0) and answer for 0 and -1;
// OffsetForLeaderEpoch leaves an epoch it never had undefined.
func TestLeaderEpochChecks(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("epochs", 1)
	cl := tb.client()
	if got := produceRaw(t, cl, "epochs", rawBatch(t, -1, -1, -1, 3)); got.ErrorCode != 0 {
		t.Fatalf("produce: %v", got.ErrorCode)
	}
	ctx := testCtx(t)
	br := cl.Broker(int(nodeID))
	for _, current := range []int32{-1, 0, 1} {
		want := int16(0)
		if current > 0 {
			want = kerr.UnknownLeaderEpoch.Code
		}

		fetch := kmsg.NewPtrFetchRequest()
		fetch.MaxBytes = 1 << 20
		ft := kmsg.NewFetchRequestTopic()
		ft.Topic = "epochs"
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.CurrentLeaderEpoch, fp.PartitionMaxBytes = current, 1<<20
		ft.Partitions = append(ft.Partitions, fp)
		fetch.Topics = append(fetch.Topics, ft)
		fr, err := fetch.RequestWith(ctx, br)
		if err != nil {
			t.Fatal(err)
		}
		if p := fr.Topics[0].Partitions[0]; p.ErrorCode != want || (want == 0) != (len(p.RecordBatches) > 0) {
			t.Fatalf("fetch with epoch %d: code %d, %d bytes", current, p.ErrorCode, len(p.RecordBatches))
		}

		list := kmsg.NewPtrListOffsetsRequest()
		lt := kmsg.NewListOffsetsRequestTopic()
		lt.Topic = "epochs"
		lp := kmsg.NewListOffsetsRequestTopicPartition()
		lp.CurrentLeaderEpoch, lp.Timestamp = current, -1
		lt.Partitions = append(lt.Partitions, lp)
		list.Topics = append(list.Topics, lt)
		lr, err := list.RequestWith(ctx, br)
		if err != nil {
			t.Fatal(err)
		}
		wantOffset := int64(3)
		if want != 0 {
			wantOffset = -1
		}
		if p := lr.Topics[0].Partitions[0]; p.ErrorCode != want || p.Offset != wantOffset {
			t.Fatalf("list offsets with epoch %d: code %d, offset %d", current, p.ErrorCode, p.Offset)
		}

		for _, asked := range []int32{0, 5} {
			ofe := kmsg.NewPtrOffsetForLeaderEpochRequest()
			ot := kmsg.NewOffsetForLeaderEpochRequestTopic()
			ot.Topic = "epochs"
			op := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
			op.CurrentLeaderEpoch, op.LeaderEpoch = current, asked
			ot.Partitions = append(ot.Partitions, op)
			ofe.Topics = append(ofe.Topics, ot)
			or, err := ofe.RequestWith(ctx, br)
			if err != nil {
				t.Fatal(err)
			}
			wantEpoch, wantEnd := int32(0), int64(3)
			if want != 0 || asked > 0 {
				wantEpoch, wantEnd = -1, -1
			}
			if p := or.Topics[0].Partitions[0]; p.ErrorCode != want || p.LeaderEpoch != wantEpoch || p.EndOffset != wantEnd {
				t.Fatalf("offset for epoch %d with current %d: code %d, epoch %d, end %d", asked, current, p.ErrorCode, p.LeaderEpoch, p.EndOffset)
			}
		}
	}
}
