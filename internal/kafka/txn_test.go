package kafka

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A consume-transform-produce loop with transactions: the first
// transaction is aborted, the rest commit; read_committed readers of the
// output see each input once, and the group's offsets moved with them.
func TestTransactionalConsumeTransformProduce(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("in", 2)
	tb.createTopic("out", 1)
	const n = 100
	prod := tb.client(kgo.DefaultProduceTopic("in"))
	for i := range n {
		if err := prod.ProduceSync(testCtx(t), &kgo.Record{Key: []byte(fmt.Sprint(i % 5)), Value: []byte(fmt.Sprintf("v%03d", i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	sess, err := kgo.NewGroupTransactSession(kgo.SeedBrokers(tb.addr), kgo.TransactionalID("xform"),
		kgo.ConsumerGroup("xform"), kgo.ConsumeTopics("in"), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.RequireStableFetchOffsets(),
		kgo.DefaultProduceTopic("out"), kgo.FetchMaxPartitionBytes(300))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	ctx := testCtx(t)
	done, aborted := 0, false
	for done < n {
		fs := sess.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("transformed %d of %d", done, n)
		}
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			sess.Produce(ctx, &kgo.Record{Value: bytes.ToUpper(r.Value)}, nil)
		}
		action := kgo.TryCommit
		if !aborted {
			action, aborted = kgo.TryAbort, true
		}
		committed, err := sess.End(ctx, action)
		if err != nil {
			t.Fatal(err)
		}
		if committed {
			done += len(recs)
		}
	}

	readAll := func(level kgo.IsolationLevel) map[string]int {
		cons := tb.client(kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchIsolationLevel(level), kgo.FetchMaxWait(100_000_000))
		seen := map[string]int{}
		for len(seen) < n {
			for _, r := range consumeN(t, cons, 1) {
				seen[string(r.Value)]++
			}
		}
		return seen
	}
	committedView := readAll(kgo.ReadCommitted())
	for i := range n {
		if v := fmt.Sprintf("V%03d", i); committedView[v] != 1 {
			t.Fatalf("read_committed saw %s %d times", v, committedView[v])
		}
	}
	end := tb.endOffset("out", 0)
	if end <= n {
		t.Fatalf("out holds %d offsets; the aborted data and markers should be there too", end)
	}
	offsets, err := kadm.NewClient(tb.client()).FetchOffsets(ctx, "xform")
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(2) {
		o, _ := offsets.Lookup("in", p)
		if o.At != tb.endOffset("in", p) {
			t.Fatalf("group offset on in/%d is %d, end %d", p, o.At, tb.endOffset("in", p))
		}
	}

	// After a restart the aborted range is rebuilt from the log.
	tb.stop()
	tb = startBroker(t, tb.dir)
	again := readAll(kgo.ReadCommitted())
	if len(again) != n {
		t.Fatalf("after restart read_committed saw %d values", len(again))
	}
	for v, c := range again {
		if c != 1 {
			t.Fatalf("after restart %s seen %d times", v, c)
		}
	}
}

// After a restart the transaction state of a partition comes from the scan
// of its log: an aborted transaction stays hidden from read_committed
// readers, and one left open by the old process is aborted, so the last
// stable offset moves past it to what is written next.
func TestTransactionStateRebuiltAfterRestart(t *testing.T) {
	dir := t.TempDir()
	tb := startBroker(t, dir)
	tb.createTopic("txlog", 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(tb.addr), kgo.TransactionalID("rebuild"), kgo.DefaultProduceTopic("txlog"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	produceTxn := func(value string, n int, end *kgo.TransactionEndTry) {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for range n {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(value)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if end != nil {
			if err := cl.EndTransaction(ctx, *end); err != nil {
				t.Fatal(err)
			}
		}
	}
	abort, commit := kgo.TryAbort, kgo.TryCommit
	produceTxn("aborted", 3, &abort)
	produceTxn("committed", 2, &commit)
	produceTxn("open", 2, nil) // never ended: the process dies with it
	tb.stop()
	cl.Close()

	tb = startBroker(t, dir)
	if err := tb.client(kgo.DefaultProduceTopic("txlog")).ProduceSync(ctx, &kgo.Record{Value: []byte("after")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	reader := tb.client(kgo.ConsumeTopics("txlog"), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var got []string
	for _, r := range consumeN(t, reader, 3) {
		got = append(got, string(r.Value))
	}
	if fmt.Sprint(got) != "[committed committed after]" {
		t.Fatalf("read_committed after restart saw %q", got)
	}
}

// Offset metadata over offset.metadata.max.bytes is refused by
// OffsetCommit and TxnOffsetCommit alike, and the limit itself is allowed.
func TestOffsetMetadataLimit(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("meta", 2)
	ctx := testCtx(t)
	br := tb.client().Broker(int(nodeID))
	ok, tooLong := strings.Repeat("m", maxOffsetMetadata), strings.Repeat("m", maxOffsetMetadata+1)

	for _, meta := range []string{ok, tooLong} {
		want := int16(0)
		if meta == tooLong {
			want = kerr.OffsetMetadataTooLarge.Code
		}
		commit := kmsg.NewPtrOffsetCommitRequest()
		commit.Group, commit.Generation = "meta-group", -1
		ct := kmsg.NewOffsetCommitRequestTopic()
		ct.Topic = "meta"
		cp := kmsg.NewOffsetCommitRequestTopicPartition()
		cp.Offset, cp.Metadata = 0, kmsg.StringPtr(meta)
		ct.Partitions = append(ct.Partitions, cp)
		commit.Topics = append(commit.Topics, ct)
		resp, err := commit.RequestWith(ctx, br)
		if err != nil || resp.Topics[0].Partitions[0].ErrorCode != want {
			t.Fatalf("offset commit of %d bytes of metadata: %v %+v", len(meta), err, resp)
		}
	}

	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID, init.TransactionTimeoutMillis = kmsg.StringPtr("meta-txn"), 60_000
	ir, err := init.RequestWith(ctx, br)
	if err != nil || ir.ErrorCode != 0 {
		t.Fatalf("init producer id: %v %+v", err, ir)
	}
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = "meta-txn", ir.ProducerID, ir.ProducerEpoch, "meta-group"
	if ar, err := add.RequestWith(ctx, br); err != nil || ar.ErrorCode != 0 {
		t.Fatalf("add offsets to txn: %v %+v", err, ar)
	}
	txc := kmsg.NewPtrTxnOffsetCommitRequest()
	txc.TransactionalID, txc.ProducerID, txc.ProducerEpoch, txc.Group = "meta-txn", ir.ProducerID, ir.ProducerEpoch, "meta-group"
	tt := kmsg.NewTxnOffsetCommitRequestTopic()
	tt.Topic = "meta"
	for i, meta := range []string{ok, tooLong} {
		tp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		tp.Partition, tp.Offset, tp.Metadata = int32(i), 1, kmsg.StringPtr(meta)
		tt.Partitions = append(tt.Partitions, tp)
	}
	txc.Topics = append(txc.Topics, tt)
	tr, err := txc.RequestWith(ctx, br)
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Topics[0].Partitions; got[0].ErrorCode != 0 || got[1].ErrorCode != kerr.OffsetMetadataTooLarge.Code {
		t.Fatalf("txn offset commit: %+v", got)
	}
}

// AddPartitionsToTxn is all or nothing: with an unknown partition in the
// request, that one is UNKNOWN_TOPIC_OR_PARTITION, the rest are not
// attempted, and no transaction begins.
func TestAddPartitionsToTxnAllOrNothing(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("atx", 1)
	ctx := testCtx(t)
	br := tb.client().Broker(int(nodeID))
	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID, init.TransactionTimeoutMillis = kmsg.StringPtr("atx"), 60_000
	ir, err := init.RequestWith(ctx, br)
	if err != nil || ir.ErrorCode != 0 {
		t.Fatalf("init producer id: %v %+v", err, ir)
	}
	add := kmsg.NewPtrAddPartitionsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch = "atx", ir.ProducerID, ir.ProducerEpoch
	at := kmsg.NewAddPartitionsToTxnRequestTopic()
	at.Topic, at.Partitions = "atx", []int32{0, 1}
	add.Topics = append(add.Topics, at)
	ar, err := add.RequestWith(ctx, br)
	if err != nil {
		t.Fatal(err)
	}
	if got := ar.Topics[0].Partitions; len(got) != 2 || got[0].ErrorCode != kerr.OperationNotAttempted.Code ||
		got[1].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("add partitions: %+v", got)
	}
	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = "atx", ir.ProducerID, ir.ProducerEpoch, true
	if er, err := end.RequestWith(ctx, br); err != nil || er.ErrorCode != kerr.InvalidTxnState.Code {
		t.Fatalf("end of a transaction that never began: %v %+v", err, er)
	}
}
