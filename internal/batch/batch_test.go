package batch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"reflect"
	"testing"

	"github.com/klauspost/compress/s2"
)

func sampleRecords() []Record {
	return []Record{
		{Timestamp: 1_700_000_000_000, Key: []byte("k1"), Value: []byte("hello"),
			Headers: []Header{{Key: "content-type", Value: []byte("text/plain")}, {Key: "nullhdr", Value: nil}}},
		{Timestamp: 1_699_999_999_000, Key: nil, Value: bytes.Repeat([]byte("abcdefgh"), 300)}, // earlier: negative delta
		{Timestamp: 1_700_000_000_500, Key: []byte{}, Value: nil},
		{Timestamp: 1_700_000_000_400, Key: []byte("k4"), Value: []byte{}, Headers: []Header{{Key: "", Value: []byte{}}}},
	}
}

func TestRoundTripAllCompressions(t *testing.T) {
	for _, c := range []Compression{None, Gzip, Snappy, LZ4, Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			recs := sampleRecords()
			opts := EncodeOptions{Compression: c, ProducerID: 42, ProducerEpoch: 3, BaseSequence: 7, LeaderEpoch: 9}
			prefix := []byte("prefix")
			b, err := Append(prefix, 1000, recs, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b[:6], prefix) {
				t.Fatal("Append clobbered dst prefix")
			}
			b = b[6:]
			h, err := Verify(b)
			if err != nil {
				t.Fatal(err)
			}
			want := BatchHeader{BaseOffset: 1000, Length: int32(len(b) - 12), LeaderEpoch: 9, Magic: 2, CRC: h.CRC,
				Attributes: int16(c), LastOffsetDelta: 3, BaseTimestamp: 1_700_000_000_000, MaxTimestamp: 1_700_000_000_500,
				ProducerID: 42, ProducerEpoch: 3, BaseSequence: 7, RecordCount: 4}
			if h != want {
				t.Fatalf("header\n got %+v\nwant %+v", h, want)
			}
			if h.Compression() != c || h.NextOffset() != 1004 || h.Size() != len(b) {
				t.Fatalf("accessors: %v %d %d", h.Compression(), h.NextOffset(), h.Size())
			}
			got, err := Decode(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range recs {
				recs[i].Offset = 1000 + int64(i)
			}
			if !reflect.DeepEqual(got, recs) {
				t.Fatalf("decoded\n got %+v\nwant %+v", got, recs)
			}
		})
	}
}

func TestAttributesAndZeroTimestamp(t *testing.T) {
	b, err := Append(nil, 0, []Record{{Value: []byte("x")}, {Timestamp: 5, Value: []byte("y")}},
		EncodeOptions{ProducerID: NoProducer, Transactional: true, Control: true, ZeroTimestamp: 77})
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Transactional() || !h.Control() || h.ProducerID != -1 || h.BaseTimestamp != 77 || h.MaxTimestamp != 77 {
		t.Fatalf("header %+v", h)
	}
	recs, err := Decode(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Timestamp != 77 || recs[1].Timestamp != 5 {
		t.Fatalf("timestamps %d %d", recs[0].Timestamp, recs[1].Timestamp)
	}
}

func TestLogAppendTimeUsesMaxTimestamp(t *testing.T) {
	b, _ := Append(nil, 0, []Record{{Timestamp: 1, Value: []byte("a")}, {Timestamp: 9, Value: []byte("b")}}, EncodeOptions{})
	binary.BigEndian.PutUint16(b[21:], attrLogAppendTime)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	recs, err := Decode(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Timestamp != 9 || recs[1].Timestamp != 9 {
		t.Fatalf("timestamps %d %d, want 9 9", recs[0].Timestamp, recs[1].Timestamp)
	}
}

func TestSetBaseOffsetKeepsCRC(t *testing.T) {
	b, _ := Append(nil, 0, sampleRecords(), EncodeOptions{})
	SetBaseOffset(b, 1<<40)
	recs, err := Decode(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Offset != 1<<40 || recs[3].Offset != 1<<40+3 {
		t.Fatalf("offsets %d..%d", recs[0].Offset, recs[3].Offset)
	}
}

func TestVerifyRejectsEveryBitFlipUnderCRC(t *testing.T) {
	b, _ := Append(nil, 0, sampleRecords()[:1], EncodeOptions{})
	for i := posMagic; i < len(b); i++ {
		for bit := range 8 {
			c := bytes.Clone(b)
			c[i] ^= 1 << bit
			if _, err := Verify(c); err == nil {
				t.Fatalf("flip at byte %d bit %d not detected", i, bit)
			}
		}
	}
}

func TestVerifyLengthMismatch(t *testing.T) {
	b, _ := Append(nil, 0, sampleRecords(), EncodeOptions{})
	if _, err := Verify(b[:len(b)-1]); !errors.Is(err, ErrShort) {
		t.Fatalf("truncated: %v", err)
	}
	if _, err := Verify(append(bytes.Clone(b), 0)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("extra byte: %v", err)
	}
	if _, err := ParseHeader(b[:HeaderSize-1]); !errors.Is(err, ErrShort) {
		t.Fatalf("short header: %v", err)
	}
	c := bytes.Clone(b)
	c[posMagic] = 1
	if _, err := ParseHeader(c); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("magic 1: %v", err)
	}
	binary.BigEndian.PutUint32(c[posLength:], 3)
	c[posMagic] = 2
	if _, err := ParseHeader(c); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("tiny length: %v", err)
	}
}

// rewrap replaces the records block of a batch and fixes length and CRC.
func rewrap(b []byte, attrs int16, records []byte) []byte {
	out := append(bytes.Clone(b[:HeaderSize]), records...)
	binary.BigEndian.PutUint32(out[posLength:], uint32(len(out)-12))
	binary.BigEndian.PutUint16(out[posAttributes:], uint16(attrs))
	binary.BigEndian.PutUint32(out[posCRC:], crc32.Checksum(out[posAttributes:], castagnoli))
	return out
}

func TestXerialSnappy(t *testing.T) {
	recs := sampleRecords()
	plainBatch, _ := Append(nil, 5, recs, EncodeOptions{})
	plain := plainBatch[HeaderSize:]
	framed := append([]byte{}, xerialMagic...)
	framed = binary.BigEndian.AppendUint32(framed, 1)
	framed = binary.BigEndian.AppendUint32(framed, 1)
	for _, part := range [][]byte{plain[:100], plain[100:]} { // two chunks
		blk := s2.EncodeSnappy(nil, part)
		framed = binary.BigEndian.AppendUint32(framed, uint32(len(blk)))
		framed = append(framed, blk...)
	}
	got, err := Decode(rewrap(plainBatch, int16(Snappy), framed), nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Decode(plainBatch, nil)
	if !reflect.DeepEqual(got, want) {
		t.Fatal("xerial decode differs from plain decode")
	}
}

func TestDecompressionIsCapped(t *testing.T) {
	// A record block of 1 MiB of zeros compresses to a few KiB; a decoder
	// capped below that must refuse it rather than allocate.
	recs := []Record{{Timestamp: 1, Value: make([]byte, 1<<20)}}
	for _, c := range []Compression{Gzip, Snappy, LZ4, Zstd} {
		b, err := Append(nil, 0, recs, EncodeOptions{Compression: c})
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 1<<17 {
			t.Fatalf("%v did not compress: %d bytes", c, len(b))
		}
		d := Decoder{MaxDecompressed: 1 << 19}
		if _, err := d.Decode(b, nil); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("%v: want ErrTooLarge, got %v", c, err)
		}
		d.MaxDecompressed = 2 << 20
		if got, err := d.Decode(b, nil); err != nil || len(got[0].Value) != 1<<20 {
			t.Fatalf("%v with room: %v", c, err)
		}
		d.Close()
	}
}

func TestHostileRecordCounts(t *testing.T) {
	b, _ := Append(nil, 0, sampleRecords()[:1], EncodeOptions{})
	c := bytes.Clone(b)
	binary.BigEndian.PutUint32(c[posRecordCount:], math.MaxInt32)
	binary.BigEndian.PutUint32(c[posCRC:], crc32.Checksum(c[posAttributes:], castagnoli))
	if _, err := Decode(c, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("huge record count: %v", err)
	}
	// A record that claims more headers than bytes remain.
	rec := appendVarlong(nil, 0) // placeholder length, fixed below
	body := []byte{0}
	body = appendVarlong(body, 0)
	body = appendVarlong(body, 0)
	body = appendVarlong(body, -1)
	body = appendVarlong(body, -1)
	body = appendVarlong(body, 1<<30)
	rec = append(appendVarlong(rec[:0], int64(len(body))), body...)
	if _, err := Decode(rewrap(b, 0, rec), nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("huge header count: %v", err)
	}
}

func TestVarintsMatchZigzag(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, -64, 64, 300, -300, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64} {
		got := appendVarlong(nil, v)
		if want := binary.AppendVarint(nil, v); !bytes.Equal(got, want) {
			t.Fatalf("%d: got %x want %x", v, got, want)
		}
		if varlongSize(v) != len(got) {
			t.Fatalf("%d: size %d, encoded %d", v, varlongSize(v), len(got))
		}
		back, n := readVarlong(got)
		if back != v || n != len(got) {
			t.Fatalf("%d: read back %d (%d bytes)", v, back, n)
		}
	}
	if _, n := readVarlong([]byte{0x80, 0x80}); n != 0 {
		t.Fatal("truncated varint accepted")
	}
	if _, n := readVarlong(bytes.Repeat([]byte{0xff}, 11)); n != 0 {
		t.Fatal("overlong varint accepted")
	}
	if _, n := readVarint(appendVarlong(nil, math.MaxInt32+1)); n != 0 {
		t.Fatal("varint over 32 bits accepted")
	}
}

func BenchmarkAppendUncompressed(b *testing.B) {
	recs := []Record{{Timestamp: 1, Key: []byte("key"), Value: make([]byte, 1024)}}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = Append(buf[:0], 1, recs, EncodeOptions{ProducerID: NoProducer})
	}
}

func BenchmarkDecodeUncompressed(b *testing.B) {
	recs := make([]Record, 16)
	for i := range recs {
		recs[i] = Record{Timestamp: 1, Key: []byte("key"), Value: make([]byte, 1024)}
	}
	buf, _ := Append(nil, 1, recs, EncodeOptions{})
	var dst []Record
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = Decode(buf, dst[:0])
	}
}

// TestDecoderReuseAfterError decodes a damaged batch and then a good one
// with the same Decoder for every codec: codec state reused across calls
// must not carry an error or stale data from one batch to the next.
func TestDecoderReuseAfterError(t *testing.T) {
	var d Decoder
	defer d.Close()
	for _, c := range []Compression{Gzip, Snappy, LZ4, Zstd} {
		good, err := Append(nil, 7, sampleRecords(), EncodeOptions{Compression: c})
		if err != nil {
			t.Fatal(err)
		}
		records := bytes.Clone(good[HeaderSize:])
		records = records[:len(records)/2] // truncated compressed block
		if _, err := d.Decode(rewrap(good, int16(c), records), nil); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%v: truncated block: %v", c, err)
		}
		want, _ := Decode(good, nil)
		for range 2 {
			got, err := d.Decode(good, nil)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%v: reused decoder: %v", c, err)
			}
		}
	}
}

// BenchmarkDecodeWithHeaders decodes records as an AMQP publish stores
// them: a few headers each, with the same keys in every record.
func BenchmarkDecodeWithHeaders(b *testing.B) {
	recs := make([]Record, 16)
	for i := range recs {
		recs[i] = Record{Timestamp: 1, Value: make([]byte, 1024), Headers: []Header{
			{Key: "x-gannet-exchange", Value: []byte("amq.direct")},
			{Key: "x-gannet-routing-key", Value: []byte("orders")},
			{Key: "content-type", Value: []byte("application/json")},
		}}
	}
	buf, _ := Append(nil, 1, recs, EncodeOptions{})
	var d Decoder
	var dst []Record
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = d.Decode(buf, dst[:0])
	}
}

// TestDecodedHeadersStandAlone: the records' headers share one allocation
// and interned keys, yet each record's are its own: an append to one
// record's headers leaves the next record's alone, and a stream of
// made-up keys does not grow the interning map past its bound.
func TestDecodedHeadersStandAlone(t *testing.T) {
	recs := make([]Record, 3)
	for i := range recs {
		recs[i] = Record{Value: []byte{byte(i)}, Headers: []Header{{Key: "a", Value: []byte{byte(i)}}, {Key: "b"}}}
	}
	buf, err := Append(nil, 0, recs, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var d Decoder
	got, err := d.Decode(buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	got[0].Headers = append(got[0].Headers, Header{Key: "added"})
	if h := got[1].Headers; len(h) != 2 || h[0].Key != "a" || h[0].Value[0] != 1 || h[1].Key != "b" {
		t.Fatalf("record 1's headers after an append to record 0's: %+v", h)
	}
	if allocs := testing.AllocsPerRun(10, func() { _, _ = d.Decode(buf, got[:0]) }); allocs > 1 {
		t.Fatalf("decoding 3 records with 2 headers each allocated %v times, want the one header slab", allocs)
	}

	many := make([]Record, 300)
	for i := range many {
		many[i] = Record{Headers: []Header{{Key: fmt.Sprintf("key-%d", i)}}}
	}
	if buf, err = Append(nil, 0, many, EncodeOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err = d.Decode(buf, nil); err != nil {
		t.Fatal(err)
	}
	if got[299].Headers[0].Key != "key-299" {
		t.Fatalf("last key %q", got[299].Headers[0].Key)
	}
	if d.keys.Len() > maxInternedKeys {
		t.Fatalf("%d keys interned, want at most %d", d.keys.Len(), maxInternedKeys)
	}
}
