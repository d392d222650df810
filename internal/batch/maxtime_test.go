package batch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

// forgeMaxTimestamp sets the header's maxTimestamp and attributes to what
// a misbehaving producer might send, with a CRC that matches.
func forgeMaxTimestamp(b []byte, ts int64, attrs int16) []byte {
	out := bytes.Clone(b)
	binary.BigEndian.PutUint64(out[posMaxTimestamp:], uint64(ts))
	binary.BigEndian.PutUint16(out[posAttributes:], binary.BigEndian.Uint16(out[posAttributes:])|uint16(attrs))
	binary.BigEndian.PutUint32(out[posCRC:], crc32.Checksum(out[posAttributes:], castagnoli))
	return out
}

// The records' largest timestamp is found whatever the header claims, for
// every codec, and SetMaxTimestamp writes it back as a valid create-time
// batch whose decoded records keep their own timestamps.
func TestRecordsMaxTimestampIgnoresTheHeader(t *testing.T) {
	const want = 1_700_000_000_500 // sampleRecords' largest, third of four
	for _, c := range []Compression{None, Gzip, Snappy, LZ4, Zstd} {
		honest, err := Append(nil, 0, sampleRecords(), EncodeOptions{Compression: c})
		if err != nil {
			t.Fatal(err)
		}
		for _, forged := range [][]byte{
			forgeMaxTimestamp(honest, 1, 0),
			forgeMaxTimestamp(honest, 1<<62, 0),
			forgeMaxTimestamp(honest, 5, attrLogAppendTime),
		} {
			got, err := RecordsMaxTimestamp(forged)
			if err != nil || got != want {
				t.Fatalf("%v: max timestamp %d (%v), want %d", c, got, err, want)
			}
			SetMaxTimestamp(forged, got)
			h, err := Verify(forged)
			if err != nil {
				t.Fatalf("%v: rewritten batch: %v", c, err)
			}
			if h.MaxTimestamp != want || h.LogAppendTime() || h.Compression() != c {
				t.Fatalf("%v: rewritten header %+v", c, h)
			}
			recs, err := Decode(forged, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range recs {
				if r.Timestamp != sampleRecords()[i].Timestamp {
					t.Fatalf("%v: record %d timestamp %d, want %d", c, i, r.Timestamp, sampleRecords()[i].Timestamp)
				}
			}
		}
	}
}

// Records without timestamps (-1) and an empty batch have Kafka's
// NoTimestamp as their max.
func TestRecordsMaxTimestampNone(t *testing.T) {
	b, err := Append(nil, 0, []Record{{Timestamp: -1}, {Timestamp: -1}}, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := RecordsMaxTimestamp(forgeMaxTimestamp(b, 77, 0)); err != nil || got != NoTimestamp {
		t.Fatalf("records without timestamps: %d %v", got, err)
	}
	empty := rewrap(b, 0, nil)
	binary.BigEndian.PutUint32(empty[posRecordCount:], 0)
	binary.BigEndian.PutUint32(empty[posCRC:], crc32.Checksum(empty[posAttributes:], castagnoli))
	if got, err := RecordsMaxTimestamp(empty); err != nil || got != NoTimestamp {
		t.Fatalf("empty batch: %d %v", got, err)
	}
}

// Records blocks that do not add up are corrupt, not read past their end.
func TestRecordsMaxTimestampCorrupt(t *testing.T) {
	good, _ := Append(nil, 0, sampleRecords(), EncodeOptions{})
	records := good[HeaderSize:]
	for name, b := range map[string][]byte{
		"truncated":     rewrap(good, 0, records[:len(records)-3]),
		"trailing byte": rewrap(good, 0, append(bytes.Clone(records), 0)),
		"one record":    rewrap(good, 0, records[:1]),
		"bad gzip":      rewrap(good, int16(Gzip), records),
	} {
		if _, err := RecordsMaxTimestamp(b); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// FuzzRecordsMaxTimestamp checks RecordsMaxTimestamp against Decode: on
// every batch Decode accepts it succeeds with the decoded records' largest
// create time (or NoTimestamp), and it never panics on the rest.
func FuzzRecordsMaxTimestamp(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte, fixCRC bool) {
		if fixCRC && len(b) >= HeaderSize {
			binary.BigEndian.PutUint32(b[posLength:], uint32(len(b)-12))
			b[posMagic] = Magic
			binary.BigEndian.PutUint16(b[posAttributes:], binary.BigEndian.Uint16(b[posAttributes:])&^attrLogAppendTime)
			binary.BigEndian.PutUint32(b[posCRC:], crc32.Checksum(b[posAttributes:], castagnoli))
		}
		got, err := RecordsMaxTimestamp(b)
		recs, decodeErr := Decode(b, nil)
		if decodeErr != nil {
			return
		}
		h, _ := ParseHeader(b)
		if h.LogAppendTime() {
			return // Decode reports the header's time for every record
		}
		want := NoTimestamp
		for _, r := range recs {
			want = max(want, r.Timestamp)
		}
		if err != nil || got != want {
			t.Fatalf("max timestamp %d (%v), decoded records say %d", got, err, want)
		}
	})
}

func BenchmarkRecordsMaxTimestampUncompressed(b *testing.B) {
	recs := make([]Record, 16)
	for i := range recs {
		recs[i] = Record{Timestamp: int64(i + 1), Key: []byte("key"), Value: make([]byte, 1024)}
	}
	buf, _ := Append(nil, 1, recs, EncodeOptions{})
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RecordsMaxTimestamp(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRecordsMaxTimestampZstd(b *testing.B) {
	recs := make([]Record, 16)
	for i := range recs {
		recs[i] = Record{Timestamp: int64(i + 1), Key: []byte("key"), Value: bytes.Repeat([]byte("value "), 170)}
	}
	buf, _ := Append(nil, 1, recs, EncodeOptions{Compression: Zstd})
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RecordsMaxTimestamp(buf); err != nil {
			b.Fatal(err)
		}
	}
}
