package kafka

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
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
