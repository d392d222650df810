package batch

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// fuzzSeeds adds one small batch per codec. The seeds stay small on purpose:
// the fuzzer minimizes every new interesting input, which costs time
// quadratic in its length (capped at -fuzzminimizetime, 60s by default), so
// kilobyte seeds make it spend its whole budget minimizing.
func fuzzSeeds(f *testing.F) {
	recs := sampleRecords()
	recs[1].Value = bytes.Repeat([]byte("abcdefgh"), 4) // the sample's 2400 bytes, shortened
	for _, c := range []Compression{None, Gzip, Snappy, LZ4, Zstd} {
		b, err := Append(nil, 3, recs, EncodeOptions{Compression: c})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Add(make([]byte, HeaderSize), true)
}

// fixFraming makes the length, magic and CRC of a fuzzed batch consistent
// with its bytes (when it has a whole header), so that the fuzzer reaches
// the record and decompression code instead of stopping at the checksum.
func fixFraming(b []byte) {
	if len(b) < HeaderSize {
		return
	}
	binary.BigEndian.PutUint32(b[posLength:], uint32(len(b)-12))
	b[posMagic] = Magic
	binary.BigEndian.PutUint32(b[posCRC:], crc32.Checksum(b[posAttributes:], castagnoli))
}

// FuzzDecode feeds arbitrary bytes to Decode; when fixCRC is set, through
// fixFraming first.
func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	d := Decoder{MaxDecompressed: 1 << 20} // reused, as the broker reuses decoders
	defer d.Close()
	f.Fuzz(func(t *testing.T, b []byte, fixCRC bool) {
		if fixCRC {
			fixFraming(b)
		}
		recs, err := d.Decode(b, nil)
		if err != nil {
			if len(recs) != 0 {
				t.Fatal("records returned with an error")
			}
			return
		}
		h, _ := ParseHeader(b)
		if len(recs) != int(h.RecordCount) {
			t.Fatalf("%d records, header says %d", len(recs), h.RecordCount)
		}
		for _, r := range recs {
			if r.Offset < h.BaseOffset || r.Offset >= h.NextOffset() {
				t.Fatalf("offset %d outside batch [%d,%d)", r.Offset, h.BaseOffset, h.NextOffset())
			}
		}
		// A batch we accept must survive re-encoding.
		if h.RecordCount > 0 {
			again, err := Append(nil, h.BaseOffset, recs, EncodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Decode(again, nil); err != nil {
				t.Fatalf("re-encoded batch rejected: %v", err)
			}
		}
	})
}

func FuzzParseHeader(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte, _ bool) {
		h, err := ParseHeader(b)
		if err != nil {
			return
		}
		if h.Magic != Magic || h.Size() < HeaderSize || h.NextOffset()-h.BaseOffset != int64(h.LastOffsetDelta)+1 {
			t.Fatalf("accepted inconsistent header %+v", h)
		}
		if _, err := Verify(b[:min(len(b), h.Size())]); err == nil && h.Size() > len(b) {
			t.Fatal("Verify accepted a truncated batch")
		}
	})
}
