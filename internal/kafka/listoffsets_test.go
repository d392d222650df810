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

// listMaxTimestamp sends ListOffsets with timestamp -3 (KIP-734) for
// topic/0 and returns the answer's offset and timestamp.
func listMaxTimestamp(t *testing.T, cl *kgo.Client, topic string, isolation int8) (offset, timestamp int64) {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.IsolationLevel = isolation
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp = 0, -3
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		t.Fatalf("list max timestamp of %s: %v", topic, kerr.ErrorForCode(p.ErrorCode))
	}
	return p.Offset, p.Timestamp
}

// checkMaxTimestamp asks both through kadm and with a read_committed
// request (no transactions here, so the same answer).
func checkMaxTimestamp(t *testing.T, tb *testBroker, topic string, wantOffset, wantTS int64, what string) {
	t.Helper()
	cl := tb.client()
	listed, err := kadm.NewClient(cl).ListMaxTimestampOffsets(testCtx(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := listed.Lookup(topic, 0)
	if !ok || o.Err != nil || o.Offset != wantOffset || o.Timestamp != wantTS {
		t.Fatalf("%s: %s max timestamp at offset %d (ts %d, %v); want %d (ts %d)", what, topic, o.Offset, o.Timestamp, o.Err, wantOffset, wantTS)
	}
	if off, ts := listMaxTimestamp(t, cl, topic, 1); off != wantOffset || ts != wantTS {
		t.Fatalf("%s: %s read_committed max timestamp at offset %d (ts %d); want %d (ts %d)", what, topic, off, ts, wantOffset, wantTS)
	}
}

// produceAt produces one record per timestamp: all in one batch (buffered,
// then flushed at once), or one batch each.
func produceAt(t *testing.T, tb *testBroker, topic string, oneBatchEach bool, times ...int64) {
	t.Helper()
	ctx := testCtx(t)
	var recs []*kgo.Record
	for i, ts := range times {
		recs = append(recs, &kgo.Record{Value: []byte(fmt.Sprint(i)), Timestamp: time.UnixMilli(ts)})
	}
	if oneBatchEach {
		prod := tb.client(kgo.DefaultProduceTopic(topic))
		for _, r := range recs {
			if err := prod.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	prod := tb.client(kgo.DefaultProduceTopic(topic), kgo.ManualFlushing())
	errs := make(chan error, len(recs))
	for _, r := range recs {
		prod.Produce(ctx, r, func(_ *kgo.Record, err error) { errs <- err })
	}
	if err := prod.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for range recs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// Timestamp -3 answers the record with the largest timestamp, the earliest
// of equals, not the last record; within a batch or across batches, after
// DeleteRecords and after a restart.
func TestListOffsetsMaxTimestamp(t *testing.T) {
	tb := startBroker(t, "")
	for _, topic := range []string{"maxts-batch", "maxts-batches", "maxts-empty"} {
		tb.createTopic(topic, 1)
	}
	checkMaxTimestamp(t, tb, "maxts-empty", -1, -1, "no records")
	produceAt(t, tb, "maxts-batch", false, 1000, 5000, 3000, 5000, 2000)
	produceAt(t, tb, "maxts-batches", true, 1000, 5000, 3000, 5000, 2000)
	checkMaxTimestamp(t, tb, "maxts-batch", 1, 5000, "one batch")
	if stored := storedBatches(t, tb, "maxts-batch"); len(stored) != 1 || stored[0].BaseOffset != 0 || stored[0].LastOffsetDelta != 4 {
		t.Fatalf("maxts-batch is not one batch: %+v", stored)
	}
	checkMaxTimestamp(t, tb, "maxts-batches", 1, 5000, "one batch per record")

	// Records below the start no longer count, even in the start's batch.
	adm := kadm.NewClient(tb.client())
	for _, c := range []struct{ start, wantOffset, wantTS int64 }{{2, 3, 5000}, {4, 4, 2000}, {5, -1, -1}} {
		resp, err := adm.DeleteRecords(testCtx(t), kadm.Offsets{"maxts-batch": {0: {Topic: "maxts-batch", Partition: 0, At: c.start}}})
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			t.Fatal(err)
		}
		checkMaxTimestamp(t, tb, "maxts-batch", c.wantOffset, c.wantTS, fmt.Sprintf("records deleted below %d", c.start))
	}

	tb.stop()
	tb = startBroker(t, tb.dir)
	checkMaxTimestamp(t, tb, "maxts-batches", 1, 5000, "restarted")
	checkMaxTimestamp(t, tb, "maxts-batch", -1, -1, "restarted, all records deleted")
	checkMaxTimestamp(t, tb, "maxts-empty", -1, -1, "restarted, no records")
}

// While the record with the largest timestamp is in an open transaction,
// a read_committed reader gets no answer (offset and timestamp -1), as from
// Kafka, which answers nothing at or beyond the last stable offset; the
// commit makes it visible. The record is stamped an hour ahead because the
// commit marker carries the broker's clock and counts, as in Kafka.
func TestListOffsetsMaxTimestampOpenTransaction(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("maxts-txn", 1)
	produceAt(t, tb, "maxts-txn", true, 1000, 3000)
	late := time.Now().Add(time.Hour).UnixMilli()
	txn := tb.client(kgo.TransactionalID("maxts"), kgo.DefaultProduceTopic("maxts-txn"))
	ctx := testCtx(t)
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn.ProduceSync(ctx, &kgo.Record{Value: []byte("late"), Timestamp: time.UnixMilli(late)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl := tb.client()
	if off, ts := listMaxTimestamp(t, cl, "maxts-txn", 0); off != 2 || ts != late {
		t.Fatalf("read_uncommitted, transaction open: offset %d ts %d; want 2 ts %d", off, ts, late)
	}
	if off, ts := listMaxTimestamp(t, cl, "maxts-txn", 1); off != -1 || ts != -1 {
		t.Fatalf("read_committed, transaction open: offset %d ts %d; want -1 ts -1", off, ts)
	}
	if err := txn.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	if off, ts := listMaxTimestamp(t, cl, "maxts-txn", 1); off != 2 || ts != late {
		t.Fatalf("read_committed, committed: offset %d ts %d; want 2 ts %d", off, ts, late)
	}
}
