package kafka

import (
	"bytes"
	"testing"

	"github.com/gannet-mq/gannet/internal/batch"
)

// BenchmarkProduceValidate measures one partition's produce path up to the
// append (checks, max timestamp, storage's validation and copy) for a
// 16-record compressed batch as a producer sends it, honest header included.
func BenchmarkProduceValidate(b *testing.B) {
	for _, c := range []batch.Compression{batch.Snappy, batch.Zstd} {
		b.Run(c.String(), func(b *testing.B) {
			tb := startBroker(b, "")
			topic := "bench-" + c.String()
			tb.createTopic(topic, 1)
			recs := make([]batch.Record, 16)
			for i := range recs {
				recs[i] = batch.Record{Timestamp: 1_700_000_000_000 + int64(i), Key: []byte("key"), Value: bytes.Repeat([]byte("value "), 170)}
			}
			raw, err := batch.Append(nil, 0, recs, batch.EncodeOptions{Compression: c, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if res := tb.s.producePartition(nil, nil, topic, 0, raw); res.code != 0 {
					b.Fatalf("produce: error code %d %s", res.code, res.msg)
				}
			}
		})
	}
}
