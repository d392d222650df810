package kafka

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/batch"
)

// A transaction left open past its timeout is aborted by the coordinator:
// the abort marker (stamped with the broker's clock) ends it, read_committed
// readers never see its records, and the producer that let it expire is
// fenced.
func TestTransactionTimeoutAbortsAndFences(t *testing.T) {
	tb, fake := startFakeClockBroker(t)
	tb.createTopic("slow", 1)
	const timeout = 10 * time.Second
	ctx := testCtx(t)
	prod := tb.client(kgo.TransactionalID("slow-tx"), kgo.TransactionTimeout(timeout), kgo.DefaultProduceTopic("slow"))
	if err := prod.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte("doomed")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(tb.client())
	stable := func() int64 { // the last stable offset
		t.Helper()
		offsets, err := adm.ListCommittedOffsets(ctx, "slow")
		if err != nil {
			t.Fatal(err)
		}
		o, _ := offsets.Lookup("slow", 0)
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		return o.Offset
	}

	fake.Advance(timeout)
	if lso := stable(); lso != 0 {
		t.Fatalf("last stable offset at the timeout = %d, want 0 (still open)", lso)
	}
	fake.Advance(janitorTick)
	if lso := stable(); lso == 0 {
		t.Fatal("the transaction is still open after its timeout")
	}
	// The marker is visible once its append is durable.
	deadline := time.Now().Add(10 * time.Second)
	for stable() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("last stable offset stays %d, want 2 (record and abort marker)", stable())
		}
		time.Sleep(time.Millisecond)
	}
	if marker := controlBatchAt(t, tb, "slow", 1); marker.BaseTimestamp != fake.Now().UnixMilli() {
		t.Fatalf("abort marker stamped %d, want the broker clock's %d", marker.BaseTimestamp, fake.Now().UnixMilli())
	}
	if err := prod.EndTransaction(ctx, kgo.TryCommit); !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("committing a transaction the coordinator aborted: %v, want INVALID_PRODUCER_EPOCH", err)
	}

	plain := tb.client(kgo.DefaultProduceTopic("slow"))
	if err := plain.ProduceSync(ctx, &kgo.Record{Value: []byte("after")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cons := tb.client(kgo.ConsumeTopics("slow"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if got := consumeN(t, cons, 1); len(got) != 1 || string(got[0].Value) != "after" {
		t.Fatalf("read_committed read %q first, want only \"after\"", got[0].Value)
	}
}

// controlBatchAt fetches the batch at offset (read_uncommitted, raw) and
// checks that it is a control batch.
func controlBatchAt(t *testing.T, tb *testBroker, topic string, offset int64) batch.BatchHeader {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxBytes = -1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.FetchOffset, rp.PartitionMaxBytes = offset, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	cl := tb.client()
	if err := cl.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	resp, err := req.RequestWith(testCtx(t), cl.Broker(0))
	if err != nil {
		t.Fatal(err)
	}
	raw := resp.Topics[0].Partitions[0].RecordBatches
	for len(raw) > 0 {
		h, err := batch.ParseHeader(raw)
		if err != nil {
			t.Fatal(err)
		}
		if h.BaseOffset == offset {
			if !h.Control() {
				t.Fatalf("batch at %d is not a control batch: %+v", offset, h)
			}
			return h
		}
		raw = raw[h.Size():]
	}
	t.Fatalf("no batch at offset %d", offset)
	return batch.BatchHeader{}
}
