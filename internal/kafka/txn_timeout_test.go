package kafka

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gannet-mq/gannet/internal/testenv"
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
	testenv.WaitFor(t, "a last stable offset of 2 (record and abort marker)", func() bool { return stable() == 2 })
	markers, records := fetchControlBatches(t, tb.client(), "slow")
	if now := fake.Now().UnixMilli(); len(markers) != 1 || markers[0].FirstOffset != 1 || markers[0].FirstTimestamp != now ||
		markers[0].MaxTimestamp != now || len(records[0]) != 1 || records[0][0].Timestamp != now {
		t.Fatalf("control batches %+v with records %+v; want the abort marker at 1, stamped with the broker clock's %d", markers, records, now)
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
