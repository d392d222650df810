package kafka

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/batch"
)

// forgedBatch encodes one record per timestamp, then rewrites the header
// with kmsg.RecordBatch to claim maxTimestamp (and extra attribute bits),
// with a CRC that matches, as a misbehaving producer could.
func forgedBatch(t *testing.T, maxTimestamp int64, attrs int16, times ...int64) []byte {
	t.Helper()
	recs := make([]batch.Record, len(times))
	for i, ts := range times {
		recs[i] = batch.Record{Timestamp: ts, Value: []byte("v")}
	}
	honest, err := batch.Append(nil, 0, recs, batch.EncodeOptions{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1})
	if err != nil {
		t.Fatal(err)
	}
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(honest); err != nil {
		t.Fatal(err)
	}
	rb.MaxTimestamp = maxTimestamp
	rb.Attributes |= attrs
	return recrc(rb.AppendTo(nil))
}

// The broker's max timestamp of a batch comes from its records, not from
// the header a producer sent: ListOffsets -3 and by timestamp answer from
// the records, the stored header is corrected (and still checks out), and
// a batch claiming log-append time keeps its records' own timestamps, as
// Kafka's LogValidator makes it on a CreateTime topic.
func TestProduceMaxTimestampComesFromRecords(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("ts-forged", 1)
	cl := tb.client()
	batches := []struct {
		maxTimestamp int64
		attrs        int16
		times        []int64
	}{
		{2000, 0, []int64{1000, 2000}},     // honest
		{1500, 0, []int64{3000, 4000}},     // claims less than its records
		{9_000_000, 0, []int64{2500}},      // claims more
		{1, 0x08, []int64{3500}},           // claims log-append time 1
		{-1, 0, []int64{-1, -1}},           // records without timestamps
		{3600, 0, []int64{3600, 3200, -1}}, // honest, largest first
	}
	for i, b := range batches {
		if got := produceRaw(t, cl, "ts-forged", forgedBatch(t, b.maxTimestamp, b.attrs, b.times...)); got.ErrorCode != 0 {
			t.Fatalf("batch %d: %v", i, kerr.ErrorForCode(got.ErrorCode))
		}
	}
	checkMaxTimestamp(t, tb, "ts-forged", 3, 4000, "forged headers")

	listed, err := kadm.NewClient(cl).ListOffsetsAfterMilli(testCtx(t), 3100, "ts-forged")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := listed.Lookup("ts-forged", 0); o.Err != nil || o.Offset != 3 || o.Timestamp != 4000 {
		t.Fatalf("first record at or after 3100: offset %d ts %d (%v); want 3 ts 4000", o.Offset, o.Timestamp, o.Err)
	}

	var stored []int64
	for _, h := range storedBatches(t, tb, "ts-forged") {
		if h.LogAppendTime() {
			t.Fatalf("stored batch at %d keeps the log-append-time flag", h.BaseOffset)
		}
		stored = append(stored, h.MaxTimestamp)
	}
	if want := []int64{2000, 4000, 2500, 3500, -1, 3600}; !slices.Equal(stored, want) {
		t.Fatalf("stored max timestamps %v, want %v", stored, want)
	}

	cons := tb.client(kgo.ConsumeTopics("ts-forged"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var seen []int64
	for _, r := range consumeN(t, cons, 10) {
		seen = append(seen, r.Timestamp.UnixMilli())
	}
	if want := []int64{1000, 2000, 3000, 4000, 2500, 3500, -1, -1, 3600, 3200}; !slices.Equal(seen[:10], want) {
		t.Fatalf("consumed timestamps %v, want %v", seen, want)
	}
}

// fetchControlBatches reads topic/0 from the start with a raw
// read_uncommitted Fetch and returns its control batches, each with its
// records decoded.
func fetchControlBatches(t *testing.T, cl *kgo.Client, topic string) ([]kmsg.RecordBatch, [][]batch.Record) {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = -1, 0, 1, 1<<20
	req.IsolationLevel = 0
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = 0, 0, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl.Broker(int(nodeID)))
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		t.Fatalf("fetch %s: %v", topic, kerr.ErrorForCode(p.ErrorCode))
	}
	var headers []kmsg.RecordBatch
	var records [][]batch.Record
	for raw := p.RecordBatches; len(raw) > 0; {
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(raw); err != nil {
			t.Fatal(err)
		}
		size := 12 + int(rb.Length)
		if rb.Attributes&0x20 != 0 {
			recs, err := batch.Decode(raw[:size], nil)
			if err != nil {
				t.Fatal(err)
			}
			headers, records = append(headers, rb), append(records, recs)
		}
		raw = raw[size:]
	}
	return headers, records
}

// Commit and abort markers carry the broker's clock, as Kafka's do: the
// control batch's first and max timestamps and its record's timestamp are
// the time EndTxn ran.
func TestTransactionMarkersCarryBrokerTime(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("ts-markers", 1)
	txn := tb.client(kgo.TransactionalID("ts-markers"), kgo.DefaultProduceTopic("ts-markers"))
	ctx := testCtx(t)
	var windows [][2]int64
	for _, end := range []kgo.TransactionEndTry{kgo.TryCommit, kgo.TryAbort} {
		if err := txn.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := txn.ProduceSync(ctx, &kgo.Record{Value: []byte("x"), Timestamp: time.UnixMilli(1000)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		before := time.Now().UnixMilli()
		if err := txn.EndTransaction(ctx, end); err != nil {
			t.Fatal(err)
		}
		windows = append(windows, [2]int64{before, time.Now().UnixMilli()})
	}
	markers, records := fetchControlBatches(t, tb.client(), "ts-markers")
	if len(markers) != len(windows) {
		t.Fatalf("%d control batches, want %d", len(markers), len(windows))
	}
	for i, m := range markers {
		w := windows[i]
		if m.FirstTimestamp < w[0] || m.FirstTimestamp > w[1] || m.MaxTimestamp != m.FirstTimestamp ||
			len(records[i]) != 1 || records[i][0].Timestamp != m.FirstTimestamp {
			t.Fatalf("marker %d: first ts %d, max ts %d, records %+v; want one timestamp in [%d, %d]",
				i, m.FirstTimestamp, m.MaxTimestamp, records[i], w[0], w[1])
		}
	}
}
