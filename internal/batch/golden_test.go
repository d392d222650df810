package batch

import (
	"bytes"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestGoldenAgainstKmsg builds the same batch with franz-go's wire types and
// checks that our encoding is byte-for-byte identical, and that we decode
// theirs.
func TestGoldenAgainstKmsg(t *testing.T) {
	recs := sampleRecords()
	ours, err := Append(nil, 12345, recs, EncodeOptions{ProducerID: 77, ProducerEpoch: 2, BaseSequence: 10, LeaderEpoch: 4})
	if err != nil {
		t.Fatal(err)
	}

	base := recs[0].Timestamp
	var records []byte
	for i, r := range recs {
		kr := kmsg.Record{TimestampDelta64: r.Timestamp - base, OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kmsg.Header{Key: h.Key, Value: h.Value})
		}
		withZeroLength := kr.AppendTo(nil)
		kr.Length = int32(len(withZeroLength) - 1) // a zero length varint is one byte
		records = kr.AppendTo(records)
	}
	kb := kmsg.RecordBatch{
		FirstOffset: 12345, PartitionLeaderEpoch: 4, Magic: 2, LastOffsetDelta: 3,
		FirstTimestamp: base, MaxTimestamp: 1_700_000_000_500,
		ProducerID: 77, ProducerEpoch: 2, FirstSequence: 10, NumRecords: 4, Records: records,
	}
	theirs := kb.AppendTo(nil)
	kb.Length = int32(len(theirs) - 12)
	theirs = kb.AppendTo(nil)
	kb.CRC = int32(crc32.Checksum(theirs[21:], crc32.MakeTable(crc32.Castagnoli)))
	theirs = kb.AppendTo(nil)

	if !bytes.Equal(ours, theirs) {
		t.Fatalf("encodings differ\n ours %x\ntheirs %x", ours, theirs)
	}

	var parsed kmsg.RecordBatch
	if err := parsed.ReadFrom(ours); err != nil {
		t.Fatalf("kmsg cannot read our batch: %v", err)
	}
	if parsed.NumRecords != 4 || parsed.Length != int32(len(ours)-12) {
		t.Fatalf("kmsg read %+v", parsed)
	}
}
