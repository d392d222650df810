package kafka

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
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
