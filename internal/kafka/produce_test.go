package kafka

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/batch"
)

func TestProduceConsumeEveryCompression(t *testing.T) {
	tb := startBroker(t, "")
	codecs := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	for name, codec := range codecs {
		t.Run(name, func(t *testing.T) {
			topic := "comp-" + name
			tb.createTopic(topic, 1)
			prod := tb.client(kgo.ProducerBatchCompression(codec), kgo.RequiredAcks(kgo.AllISRAcks()))
			const n = 200
			var recs []*kgo.Record
			for i := range n {
				recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint("k", i%7)),
					Value:   []byte(fmt.Sprintf("value %d of a compressible payload payload payload", i)),
					Headers: []kgo.RecordHeader{{Key: "h", Value: []byte(fmt.Sprint(i))}}})
			}
			if err := prod.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			cons := tb.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			got := consumeN(t, cons, n)
			for i, r := range got {
				if r.Offset != int64(i) || string(r.Value) != string(recs[i].Value) || string(r.Key) != string(recs[i].Key) ||
					len(r.Headers) != 1 || string(r.Headers[0].Value) != fmt.Sprint(i) {
					t.Fatalf("record %d: offset %d key %q value %q headers %v", i, r.Offset, r.Key, r.Value, r.Headers)
				}
			}
		})
	}
}

func TestAcksNoneAndLeader(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("acks", 1)
	for _, acks := range []kgo.Acks{kgo.NoAck(), kgo.LeaderAck()} {
		prod := tb.client(kgo.DefaultProduceTopic("acks"), kgo.RequiredAcks(acks), kgo.DisableIdempotentWrite())
		for i := range 50 {
			if err := prod.ProduceSync(testCtx(t), &kgo.Record{Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	cons := tb.client(kgo.ConsumeTopics("acks"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if got := consumeN(t, cons, 100); len(got) != 100 {
		t.Fatalf("read %d records", len(got))
	}
}

// TestProduceSamePartitionPastPendingLimit: a produce request may name one
// partition many times. Its appends go in one commit group, whose round
// runs only once the request has appended everything; past storage's
// pending limit (8 MiB) the next append waited for a round nobody had
// asked for, and the connection hung with the partition.
func TestProduceSamePartitionPastPendingLimit(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("repeat", 1)
	cl := tb.client()
	raw, err := batch.Append(nil, 0, []batch.Record{{Timestamp: 1700000000000, Value: bytes.Repeat([]byte{'v'}, 1000_000)}},
		batch.EncodeOptions{ProducerID: batch.NoProducer, ProducerEpoch: -1, BaseSequence: -1})
	if err != nil {
		t.Fatal(err)
	}
	const times = 10
	req := produceRequest("repeat", raw, 5000)
	for range times - 1 {
		req.Topics[0].Partitions = append(req.Topics[0].Partitions, req.Topics[0].Partitions[0])
	}
	resp, err := req.RequestWith(testCtx(t), cl.Broker(int(nodeID)))
	if err != nil {
		t.Fatalf("produce naming one partition %d times: %v", times, err)
	}
	var got []kmsg.ProduceResponseTopicPartition
	for _, rt := range resp.Topics {
		got = append(got, rt.Partitions...)
	}
	if len(got) != times {
		t.Fatalf("%d answers, want %d", len(got), times)
	}
	for i, rp := range got {
		if rp.ErrorCode != 0 || rp.BaseOffset != int64(i) {
			t.Fatalf("answer %d: %v at offset %d, want offset %d", i, kerr.ErrorForCode(rp.ErrorCode), rp.BaseOffset, i)
		}
	}
}
