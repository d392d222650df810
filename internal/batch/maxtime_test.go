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

// decodeMaxTimestamp decodes b with a throw-away Decoder.
func decodeMaxTimestamp(b []byte) ([]Record, int64, error) {
	var d Decoder
	defer d.Close()
	return d.DecodeMaxTimestamp(b, nil)
}

// The records' largest timestamp is found whatever the header claims, for
// every codec; WithMaxTimestamp leaves the batch alone, and its header
// written into a copy at another base offset makes a valid create-time
// batch whose decoded records keep their own timestamps.
func TestDecodeMaxTimestampIgnoresTheHeader(t *testing.T) {
	const want = 1_700_000_000_500 // sampleRecords' largest, third of four
	for _, c := range []Compression{None, Gzip, Snappy, LZ4, Zstd} {
		honest, err := Append(nil, 0, sampleRecords(), EncodeOptions{Compression: c})
		if err != nil {
			t.Fatal(err)
		}
		h, _ := Verify(honest)
		if _, changed := WithMaxTimestamp(honest, h, want); changed {
			t.Fatalf("%v: an honest header would be rewritten", c)
		}
		for _, forged := range [][]byte{
			forgeMaxTimestamp(honest, 1, 0),
			forgeMaxTimestamp(honest, 1<<62, 0),
			forgeMaxTimestamp(honest, 5, attrLogAppendTime),
		} {
			recs, got, err := decodeMaxTimestamp(forged)
			if err != nil || got != want {
				t.Fatalf("%v: max timestamp %d (%v), want %d", c, got, err, want)
			}
			h, _ := ParseHeader(forged)
			if h.LogAppendTime() && recs[0].Timestamp != 5 {
				t.Fatalf("%v: log-append-time record decoded with timestamp %d, want the header's 5", c, recs[0].Timestamp)
			}
			before := bytes.Clone(forged)
			fixed, changed := WithMaxTimestamp(forged, h, got)
			if !changed || !bytes.Equal(forged, before) {
				t.Fatalf("%v: changed %v; batch left alone %v", c, changed, bytes.Equal(forged, before))
			}
			stored := bytes.Clone(forged)
			SetBaseOffset(stored, 77) // outside the CRC, as storage assigns it
			PutMaxTimestamp(stored, fixed)
			sh, err := Verify(stored)
			if err != nil {
				t.Fatalf("%v: rewritten batch: %v", c, err)
			}
			fixed.BaseOffset = 77
			if sh != fixed || sh.MaxTimestamp != want || sh.LogAppendTime() || sh.Compression() != c {
				t.Fatalf("%v: rewritten header %+v, computed %+v", c, sh, fixed)
			}
			recs, err = Decode(stored, nil)
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
func TestDecodeMaxTimestampNone(t *testing.T) {
	b, err := Append(nil, 0, []Record{{Timestamp: -1}, {Timestamp: -1}}, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, got, err := decodeMaxTimestamp(forgeMaxTimestamp(b, 77, 0)); err != nil || got != NoTimestamp {
		t.Fatalf("records without timestamps: %d %v", got, err)
	}
	empty := rewrap(b, 0, nil)
	binary.BigEndian.PutUint32(empty[posRecordCount:], 0)
	binary.BigEndian.PutUint32(empty[posCRC:], crc32.Checksum(empty[posAttributes:], castagnoli))
	if _, got, err := decodeMaxTimestamp(empty); err != nil || got != NoTimestamp {
		t.Fatalf("empty batch: %d %v", got, err)
	}
}

// Records blocks that do not add up are corrupt, not read past their end.
func TestDecodeMaxTimestampCorrupt(t *testing.T) {
	good, _ := Append(nil, 0, sampleRecords(), EncodeOptions{})
	records := good[HeaderSize:]
	for name, b := range map[string][]byte{
		"truncated":     rewrap(good, 0, records[:len(records)-3]),
		"trailing byte": rewrap(good, 0, append(bytes.Clone(records), 0)),
		"one record":    rewrap(good, 0, records[:1]),
		"bad gzip":      rewrap(good, int16(Gzip), records),
	} {
		if _, ts, err := decodeMaxTimestamp(b); !errors.Is(err, ErrCorrupt) || ts != NoTimestamp {
			t.Fatalf("%s: %d %v", name, ts, err)
		}
	}
}

// Decompressions counts each compressed batch decoded, once, and nothing
// for an uncompressed one. (No test in this package runs in parallel.)
func TestDecompressionsCountsCompressedBlocks(t *testing.T) {
	for _, c := range []Compression{None, Gzip, Snappy, LZ4, Zstd} {
		b, err := Append(nil, 0, sampleRecords(), EncodeOptions{Compression: c})
		if err != nil {
			t.Fatal(err)
		}
		before := Decompressions()
		if _, _, err := decodeMaxTimestamp(b); err != nil {
			t.Fatal(err)
		}
		want := int64(1)
		if c == None {
			want = 0
		}
		if got := Decompressions() - before; got != want {
			t.Fatalf("%v: %d decompressions, want %d", c, got, want)
		}
	}
}

// FuzzDecodeMaxTimestamp checks DecodeMaxTimestamp and WithMaxTimestamp:
// a batch refused gives no records and NoTimestamp; on every batch
// accepted, the max is the decoded records' largest create time (or
// NoTimestamp), and the header computed for it, written into a copy, makes
// a batch that verifies and decodes to the same records with that max
// timestamp.
func FuzzDecodeMaxTimestamp(f *testing.F) {
	fuzzSeeds(f)
	d := Decoder{MaxDecompressed: 1 << 20} // reused, as storage reuses decoders
	defer d.Close()
	f.Fuzz(func(t *testing.T, b []byte, fixCRC bool) {
		if fixCRC {
			fixFraming(b)
		}
		recs, got, err := d.DecodeMaxTimestamp(b, nil)
		if err != nil {
			if len(recs) != 0 || got != NoTimestamp {
				t.Fatalf("refused (%v) with %d records and max timestamp %d", err, len(recs), got)
			}
			return
		}
		h, _ := ParseHeader(b)
		fixed, _ := WithMaxTimestamp(b, h, got)
		stored := bytes.Clone(b)
		PutMaxTimestamp(stored, fixed)
		sh, err := Verify(stored)
		if err != nil || sh != fixed || sh.LogAppendTime() || sh.MaxTimestamp != got {
			t.Fatalf("rewritten header %+v (%v), computed %+v", sh, err, fixed)
		}
		created, err := d.Decode(stored, nil)
		if err != nil || len(created) != len(recs) {
			t.Fatalf("rewritten batch: %d records (%v), want %d", len(created), err, len(recs))
		}
		want := NoTimestamp
		for _, r := range created {
			want = max(want, r.Timestamp)
		}
		if got != want {
			t.Fatalf("max timestamp %d, decoded records say %d", got, want)
		}
	})
}
