package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/gannet-mq/gannet/internal/batch"
)

// forgeHeader gives the producer's batch raw the max timestamp and extra
// attribute bits a misbehaving producer might send, with a CRC that matches.
func forgeHeader(raw []byte, maxTS int64, attrs uint16) []byte {
	be := binary.BigEndian
	out := bytes.Clone(raw)
	be.PutUint16(out[21:], be.Uint16(out[21:])|attrs)
	be.PutUint64(out[35:], uint64(maxTS))
	be.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	return out
}

// AppendBatch stores a batch with its records' largest timestamp as its max
// timestamp, whatever the producer's header said, and as a create-time
// batch; it does so for every codec, decompressing a compressed batch once,
// and without changing the caller's bytes. An honest header, and its CRC,
// are stored as they came.
func TestAppendBatchTakesMaxTimestampFromRecords(t *testing.T) {
	const logAppendTime = 0x08
	l := openLog(t, t.TempDir(), Options{})
	recs := []batch.Record{
		{Timestamp: 3000, Value: []byte("a")},
		{Timestamp: 5000, Value: bytes.Repeat([]byte("b"), 200)},
		{Timestamp: 4000, Value: []byte("c")},
	}
	for _, c := range []batch.Compression{batch.None, batch.Gzip, batch.Snappy, batch.LZ4, batch.Zstd} {
		honest, err := batch.Append(nil, 0, recs, batch.EncodeOptions{Compression: c, ProducerID: batch.NoProducer})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range []struct {
			name    string
			raw     []byte
			rewrite bool
		}{
			{"honest", honest, false},
			{"claims less", forgeHeader(honest, 4500, 0), true},
			{"claims more", forgeHeader(honest, 9_000_000, 0), true},
			{"claims log-append time", forgeHeader(honest, 1, logAppendTime), true},
			{"log-append time, right max", forgeHeader(honest, 5000, logAppendTime), true},
		} {
			sent := bytes.Clone(b.raw)
			before := batch.Decompressions()
			a, err := l.AppendBatch(b.raw)
			if err != nil {
				t.Fatalf("%v %s: %v", c, b.name, err)
			}
			want := int64(1)
			if c == batch.None {
				want = 0
			}
			if decompressed := batch.Decompressions() - before; decompressed != want {
				t.Fatalf("%v %s: decompressed %d times, want %d", c, b.name, batch.Decompressions()-before, want)
			}
			if !bytes.Equal(b.raw, sent) {
				t.Fatalf("%v %s: AppendBatch changed the caller's bytes", c, b.name)
			}
			if err := a.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			stored, err := l.Read(a.Base, 1)
			if err != nil {
				t.Fatal(err)
			}
			h, err := batch.Verify(stored)
			if err != nil {
				t.Fatalf("%v %s: stored batch: %v", c, b.name, err)
			}
			sentHeader, _ := batch.ParseHeader(sent)
			if h.MaxTimestamp != 5000 || h.LogAppendTime() || h.Compression() != c || (h.CRC != sentHeader.CRC) == !b.rewrite {
				t.Fatalf("%v %s: stored header %+v, sent %+v", c, b.name, h, sentHeader)
			}
			// Only the base offset, maxTimestamp, attributes and CRC differ.
			batch.SetBaseOffset(sent, a.Base)
			batch.PutMaxTimestamp(sent, h)
			if !bytes.Equal(stored, sent) {
				t.Fatalf("%v %s: stored bytes differ beyond the header fixes", c, b.name)
			}
			got, err := l.ReadRecords(a.Base, 1, nil)
			if err != nil || len(got) != len(recs) {
				t.Fatalf("%v %s: read %d records, %v", c, b.name, len(got), err)
			}
			for i := range recs {
				if got[i].Timestamp != recs[i].Timestamp {
					t.Fatalf("%v %s: record %d has timestamp %d, want %d", c, b.name, i, got[i].Timestamp, recs[i].Timestamp)
				}
			}
			if ts, ok, err := l.MaxTimestamp(); err != nil || !ok || ts != 5000 {
				t.Fatalf("%v %s: log max timestamp %d %v %v, want 5000", c, b.name, ts, ok, err)
			}
		}
	}
}

// A compressed batch whose records are bad is refused as before, after one
// decompression, and nothing is stored.
func TestAppendBatchRefusesBadCompressedRecords(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{})
	good, err := batch.Append(nil, 0, []batch.Record{{Timestamp: 1, Value: []byte("x")}, {Timestamp: 2, Value: []byte("y")}},
		batch.EncodeOptions{Compression: batch.Snappy, ProducerID: batch.NoProducer})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := batch.ParseHeader(good)
	// A record count the records block does not hold, with a CRC that
	// matches: only decoding the decompressed records can tell.
	miscounted := bytes.Clone(good)
	binary.BigEndian.PutUint32(miscounted[57:], uint32(h.RecordCount+1))
	binary.BigEndian.PutUint32(miscounted[23:], uint32(h.LastOffsetDelta+1))
	binary.BigEndian.PutUint32(miscounted[17:], crc32.Checksum(miscounted[21:], crc32.MakeTable(crc32.Castagnoli)))
	// A snappy block that does not decompress.
	garbled := bytes.Clone(good)
	for i := batch.HeaderSize; i < len(garbled); i++ {
		garbled[i] = 0xff
	}
	binary.BigEndian.PutUint32(garbled[17:], crc32.Checksum(garbled[21:], crc32.MakeTable(crc32.Castagnoli)))

	for name, raw := range map[string][]byte{"miscounted": miscounted, "garbled": garbled} {
		before := batch.Decompressions()
		if _, err := l.AppendBatch(raw); !errors.Is(err, ErrInvalidBatch) || !errors.Is(err, batch.ErrCorrupt) {
			t.Fatalf("%s: %v", name, err)
		}
		if n := batch.Decompressions() - before; n != 1 {
			t.Fatalf("%s: decompressed %d times, want 1", name, n)
		}
	}
	if end := l.EndOffset(); end != 0 {
		t.Fatalf("end offset %d after refused batches", end)
	}
}
