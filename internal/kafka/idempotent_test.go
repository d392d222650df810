package kafka

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/batch"
)

// rawBatch encodes n records as a producer's batch.
func rawBatch(t testing.TB, pid int64, epoch int16, seq int32, n int, opts ...func(*batch.EncodeOptions)) []byte {
	t.Helper()
	recs := make([]batch.Record, n)
	for i := range recs {
		recs[i] = batch.Record{Offset: int64(i), Timestamp: 1700000000000, Value: []byte(fmt.Sprint("seq ", int(seq)+i))}
	}
	o := batch.EncodeOptions{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq}
	for _, f := range opts {
		f(&o)
	}
	raw, err := batch.Append(nil, 0, recs, o)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// produceRequest is an acks=all produce of one batch to topic/0.
func produceRequest(topic string, raw []byte, timeoutMillis int32) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, timeoutMillis
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = 0, raw
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// produceRaw sends one batch to topic/0 and returns the partition's answer.
func produceRaw(t testing.TB, cl *kgo.Client, topic string, raw []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	resp, err := produceRequest(topic, raw, 5000).RequestWith(testCtx(t), cl.Broker(int(nodeID)))
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0]
}

func initPID(t testing.TB, cl *kgo.Client) (int64, int16) {
	t.Helper()
	resp, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(testCtx(t), cl)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("init producer id: %v %v", err, kerr.ErrorForCode(resp.ErrorCode))
	}
	return resp.ProducerID, resp.ProducerEpoch
}

func TestIdempotentSequences(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("idem", 1)
	cl := tb.client()
	pid, epoch := initPID(t, cl)
	expect := func(raw []byte, code int16, base int64) {
		t.Helper()
		got := produceRaw(t, cl, "idem", raw)
		if got.ErrorCode != code || (code == 0 && got.BaseOffset != base) {
			t.Fatalf("got error %v base %d, want %v base %d", kerr.ErrorForCode(got.ErrorCode), got.BaseOffset, kerr.ErrorForCode(code), base)
		}
	}
	expect(rawBatch(t, pid, epoch, 0, 5), 0, 0)
	expect(rawBatch(t, pid, epoch, 5, 5), 0, 5)
	expect(rawBatch(t, pid, epoch, 0, 5), 0, 0) // a retry of the first: acknowledged again, not written
	expect(rawBatch(t, pid, epoch, 5, 5), 0, 5)
	expect(rawBatch(t, pid, epoch, 12, 3), kerr.OutOfOrderSequenceNumber.Code, 0) // a gap
	expect(rawBatch(t, pid, epoch, 10, 3), 0, 10)
	expect(rawBatch(t, pid, epoch-1, 13, 1), kerr.InvalidProducerEpoch.Code, 0)
	if end := tb.endOffset("idem", 0); end != 13 {
		t.Fatalf("end offset %d, want 13: duplicates were written", end)
	}

	// After a restart the state comes back from the log.
	tb.stop()
	tb = startBroker(t, tb.dir)
	cl = tb.client()
	expect(rawBatch(t, pid, epoch, 10, 3), 0, 10)
	expect(rawBatch(t, pid, epoch, 14, 1), kerr.OutOfOrderSequenceNumber.Code, 0)
	expect(rawBatch(t, pid, epoch, 13, 1), 0, 13)
}

func (tb *testBroker) endOffset(topic string, partition int32) int64 {
	p, err := tb.b.Partition(topic, partition)
	if err != nil {
		tb.t.Fatal(err)
	}
	return p.EndOffset()
}

func TestBadCRCIsCorruptMessage(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("crc", 1)
	cl := tb.client()
	raw := rawBatch(t, -1, -1, -1, 3)
	raw[len(raw)-1] ^= 0xff
	if got := produceRaw(t, cl, "crc", raw); got.ErrorCode != kerr.CorruptMessage.Code {
		t.Fatalf("bad crc: got %v", kerr.ErrorForCode(got.ErrorCode))
	}
	// The connection and the broker carry on.
	if got := produceRaw(t, cl, "crc", rawBatch(t, -1, -1, -1, 3)); got.ErrorCode != 0 || got.BaseOffset != 0 {
		t.Fatalf("good batch after a bad one: %v at %d", kerr.ErrorForCode(got.ErrorCode), got.BaseOffset)
	}
}

// recrc recomputes a batch's CRC after a test has changed it.
func recrc(b []byte) []byte {
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// TestIdempotentCorruptBatchBeforeSequence: a batch whose CRC holds but
// whose records do not (one fewer than its last offset delta says) is CORRUPT_MESSAGE even
// when its sequence is a gap, a duplicate or of an old epoch, as Kafka
// validates a batch before it looks at the producer's state; and one that
// would start a producer's state (a new epoch, an unknown producer) leaves
// that state as it was.
func TestIdempotentCorruptBatchBeforeSequence(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("idem-corrupt", 1)
	cl := tb.client()
	pid, epoch := initPID(t, cl)
	unknown := pid + 1 // not handed out: the server's ids go up by one
	if got := produceRaw(t, cl, "idem-corrupt", rawBatch(t, pid, epoch, 0, 5)); got.ErrorCode != 0 {
		t.Fatalf("first batch: %v", kerr.ErrorForCode(got.ErrorCode))
	}
	corrupt := func(pid int64, e int16, seq int32, n int) []byte {
		raw := rawBatch(t, pid, e, seq, n)
		binary.BigEndian.PutUint32(raw[23:], uint32(n)) // last offset delta: one past the records
		return recrc(raw)
	}
	for _, c := range []struct {
		what string
		raw  []byte
	}{
		{"a sequence gap", corrupt(pid, epoch, 20, 3)},
		{"a duplicate's sequences", corrupt(pid, epoch, 0, 5)},
		{"an old epoch", corrupt(pid, epoch-1, 5, 3)},
		{"a new epoch", corrupt(pid, epoch+1, 0, 3)},
		{"an unknown producer", corrupt(unknown, 7, 0, 3)},
	} {
		if got := produceRaw(t, cl, "idem-corrupt", c.raw); got.ErrorCode != kerr.CorruptMessage.Code {
			t.Fatalf("corrupt records with %s: got %v, want CORRUPT_MESSAGE", c.what, kerr.ErrorForCode(got.ErrorCode))
		}
	}
	if end := tb.endOffset("idem-corrupt", 0); end != 5 {
		t.Fatalf("end offset %d, want 5", end)
	}
	// The producer is still at its epoch and sequence, and the unknown one
	// is still unknown (so any epoch starts it).
	if got := produceRaw(t, cl, "idem-corrupt", rawBatch(t, pid, epoch, 5, 2)); got.ErrorCode != 0 || got.BaseOffset != 5 {
		t.Fatalf("the producer's next batch after the corrupt ones: %v at %d, want offset 5", kerr.ErrorForCode(got.ErrorCode), got.BaseOffset)
	}
	if got := produceRaw(t, cl, "idem-corrupt", rawBatch(t, unknown, 1, 0, 1)); got.ErrorCode != 0 || got.BaseOffset != 7 {
		t.Fatalf("the unknown producer's first good batch: %v at %d, want offset 7", kerr.ErrorForCode(got.ErrorCode), got.BaseOffset)
	}
}
