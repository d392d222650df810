package kafka

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/crashtest"
)

const (
	crashTopic = "crash"
	crashGroup = "crash-readers"
)

func TestMain(m *testing.M) {
	if crashtest.Child(runCrashChild) {
		return
	}
	goleak.VerifyTestMain(m)
}

// runCrashChild is the crash test's child: a broker with the Kafka
// front-end, a franz-go producer (acks=all, idempotent) and a group consumer
// that commits, printing what was acknowledged.
func runCrashChild(dir string, round int) {
	b, err := broker.Open(broker.Options{DataDir: dir})
	if err != nil {
		crashtest.Fail("open", err)
	}
	l := crashtest.Listen()
	s, err := New(Config{Broker: b, Addr: l.Addr(), DefaultPartitions: 2})
	if err != nil {
		crashtest.Fail("new", err)
	}
	go s.Serve(l)
	addr := l.Addr().String()
	prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(crashTopic), kgo.AllowAutoTopicCreation())
	if err != nil {
		crashtest.Fail("producer", err)
	}
	go func() {
		for seq := 0; ; seq++ {
			value := fmt.Sprintf("r%d-%d", round, seq)
			prod.Produce(context.Background(), &kgo.Record{Key: []byte(value), Value: []byte(value)}, func(r *kgo.Record, err error) {
				if err != nil {
					crashtest.Fail("produce", err)
				}
				crashtest.Ack("rec %d %d %s", r.Partition, r.Offset, r.Value)
			})
			if seq%64 == 63 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(crashGroup), kgo.ConsumeTopics(crashTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.AllowAutoTopicCreation())
	if err != nil {
		crashtest.Fail("consumer", err)
	}
	for {
		fs := cons.PollFetches(context.Background())
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		if err := cons.CommitRecords(context.Background(), recs...); err != nil {
			continue // a rebalance; the next poll retries
		}
		last := map[int32]int64{}
		for _, r := range recs {
			last[r.Partition] = r.Offset + 1
		}
		for p, off := range last {
			crashtest.Ack("commit %d %d", p, off)
		}
	}
}

func TestSIGKILLLosesNoAckedRecordOrCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills child processes")
	}
	dir := t.TempDir()
	acks := crashtest.Run(t, crashtest.Options{
		Rounds: 6, MinAcks: 200, Seed: 4,
		Command: crashtest.Rerun(dir),
	})
	acked := map[string]string{} // partition/offset -> value
	committed := map[int32]int64{}
	for _, line := range acks {
		f := strings.Fields(line)
		switch {
		case f[0] == "rec" && len(f) == 4:
			acked[f[1]+"/"+f[2]] = f[3]
		case f[0] == "commit" && len(f) == 3:
			p, _ := strconv.Atoi(f[1])
			off, _ := strconv.ParseInt(f[2], 10, 64)
			committed[int32(p)] = max(committed[int32(p)], off)
		}
	}
	if len(acked) < 200 || len(committed) == 0 {
		t.Fatalf("only %d records and %d commits acknowledged", len(acked), len(committed))
	}

	tb := startBroker(t, dir)
	// Every acknowledged record is there, at the offset it was given.
	cons := tb.client(kgo.ConsumeTopics(crashTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	end := tb.endOffset(crashTopic, 0) + tb.endOffset(crashTopic, 1)
	found := map[string]string{}
	for _, r := range consumeN(t, cons, int(end)) {
		found[fmt.Sprintf("%d/%d", r.Partition, r.Offset)] = string(r.Value)
	}
	for at, value := range acked {
		if found[at] != value {
			t.Fatalf("acknowledged %s at %s, found %q", value, at, found[at])
		}
	}
	// Every acknowledged commit survived, and the group resumes there.
	offsets, err := kadm.NewClient(tb.client()).FetchOffsets(testCtx(t), crashGroup)
	if err != nil {
		t.Fatal(err)
	}
	for p, off := range committed {
		got, ok := offsets.Lookup(crashTopic, p)
		if !ok || got.At < off {
			t.Fatalf("partition %d: committed %d acknowledged, %d stored", p, off, got.At)
		}
		committed[p] = got.At
	}
	resumed := tb.client(kgo.ConsumerGroup(crashGroup), kgo.ConsumeTopics(crashTopic), kgo.DisableAutoCommit())
	first := map[int32]int64{}
	ctx := testCtx(t)
	// Add a record past every committed position, so each partition has
	// something to resume with.
	more := tb.client(kgo.DefaultProduceTopic(crashTopic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for p := range committed {
		if err := more.ProduceSync(ctx, &kgo.Record{Partition: p, Value: []byte("after")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	for len(first) < len(committed) {
		fs := resumed.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("resumed group read only partitions %v (committed %v)", first, committed)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if _, ok := first[r.Partition]; !ok {
				first[r.Partition] = r.Offset
			}
		})
	}
	for p, off := range committed {
		if first[p] != off {
			t.Fatalf("partition %d resumed at %d, committed %d", p, first[p], off)
		}
	}
}
