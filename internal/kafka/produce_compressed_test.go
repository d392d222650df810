package kafka

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gannet-mq/gannet/internal/batch"
)

// storedBatches returns the headers of topic/0's stored batches, each
// checked to verify.
func storedBatches(t *testing.T, tb *testBroker, topic string) []batch.BatchHeader {
	t.Helper()
	part, err := tb.b.Partition(topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []batch.BatchHeader
	eachBatch(part, 0, part.EndOffset(), func(h batch.BatchHeader, raw []byte) {
		if _, err := batch.Verify(raw); err != nil {
			t.Fatalf("stored batch at %d: %v", h.BaseOffset, err)
		}
		out = append(out, h)
	})
	return out
}

// A compressed batch from franz-go is decompressed once on its way to disk:
// the max timestamp comes from the same pass that validates the records.
// No test in this package runs in parallel, so the process-wide count
// moves only for this produce.
func TestProduceDecompressesABatchOnce(t *testing.T) {
	tb := startBroker(t, "")
	for name, codec := range map[string]kgo.CompressionCodec{"snappy": kgo.SnappyCompression(), "zstd": kgo.ZstdCompression()} {
		topic := "once-" + name
		tb.createTopic(topic, 1)
		prod := tb.client(kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(codec), kgo.ManualFlushing())
		ctx := testCtx(t)
		errs := make(chan error, 16)
		before := batch.Decompressions()
		for i := range 16 { // the largest timestamp in the middle
			ts := 1_700_000_000_000 + int64(i*37%16)
			prod.Produce(ctx, &kgo.Record{Value: bytes.Repeat([]byte(fmt.Sprint("value ", i)), 50), Timestamp: time.UnixMilli(ts)},
				func(_ *kgo.Record, err error) { errs <- err })
		}
		if err := prod.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		for range 16 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if n := batch.Decompressions() - before; n != 1 {
			t.Fatalf("%s: one batch decompressed %d times", name, n)
		}
		stored := storedBatches(t, tb, topic)
		if len(stored) != 1 || stored[0].RecordCount != 16 || stored[0].Compression().String() != name ||
			stored[0].MaxTimestamp != 1_700_000_000_015 {
			t.Fatalf("%s: stored %+v; want one %s batch of 16 with max timestamp ...015", name, stored, name)
		}
	}

	// A forged header on a compressed batch is corrected from that one pass.
	tb.createTopic("once-forged", 1)
	cl := tb.client()
	honest, err := batch.Append(nil, 0, []batch.Record{{Timestamp: 4000, Value: []byte("a")}, {Timestamp: 6000, Value: []byte("b")}},
		batch.EncodeOptions{Compression: batch.Zstd, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1})
	if err != nil {
		t.Fatal(err)
	}
	forged := bytes.Clone(honest)
	binary.BigEndian.PutUint16(forged[21:], binary.BigEndian.Uint16(forged[21:])|0x08) // log-append time
	binary.BigEndian.PutUint64(forged[35:], 1)
	recrc(forged)
	before := batch.Decompressions()
	if got := produceRaw(t, cl, "once-forged", forged); got.ErrorCode != 0 {
		t.Fatalf("forged zstd batch: %v", kerr.ErrorForCode(got.ErrorCode))
	}
	if n := batch.Decompressions() - before; n != 1 {
		t.Fatalf("forged zstd batch decompressed %d times", n)
	}
	if stored := storedBatches(t, tb, "once-forged"); len(stored) != 1 || stored[0].MaxTimestamp != 6000 || stored[0].LogAppendTime() {
		t.Fatalf("stored %+v; want one create-time batch with max timestamp 6000", stored)
	}
	checkMaxTimestamp(t, tb, "once-forged", 1, 6000, "forged zstd batch")
}

// Bad compressed batches are refused as before the records were checked in
// one place: an unknown codec as UNSUPPORTED_FOR_MESSAGE_FORMAT, a block
// that does not decompress or records that do not add up as CORRUPT_MESSAGE.
func TestProduceRefusesBadCompressedBatches(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("bad-compressed", 1)
	cl := tb.client()
	good := rawBatch(t, -1, -1, -1, 3, func(o *batch.EncodeOptions) { o.Compression = batch.Snappy })
	unknown := bytes.Clone(good)
	unknown[22] = unknown[22]&^0x07 | 5 // compression bits: no such codec
	garbled := bytes.Clone(good)
	for i := batch.HeaderSize; i < len(garbled); i++ {
		garbled[i] = 0xff
	}
	miscounted := bytes.Clone(good)
	binary.BigEndian.PutUint32(miscounted[23:], 3) // last offset delta
	binary.BigEndian.PutUint32(miscounted[57:], 4) // record count
	for _, c := range []struct {
		name string
		raw  []byte
		code int16
	}{
		{"unknown codec", recrc(unknown), kerr.UnsupportedForMessageFormat.Code},
		{"garbled snappy", recrc(garbled), kerr.CorruptMessage.Code},
		{"record count beyond the records", recrc(miscounted), kerr.CorruptMessage.Code},
	} {
		if got := produceRaw(t, cl, "bad-compressed", c.raw); got.ErrorCode != c.code {
			t.Fatalf("%s: %v, want %v", c.name, kerr.ErrorForCode(got.ErrorCode), kerr.ErrorForCode(c.code))
		}
	}
	if got := produceRaw(t, cl, "bad-compressed", good); got.ErrorCode != 0 || got.BaseOffset != 0 {
		t.Fatalf("good batch after bad ones: %v at %d", kerr.ErrorForCode(got.ErrorCode), got.BaseOffset)
	}
}
