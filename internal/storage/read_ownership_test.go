package storage

import (
	"bytes"
	"testing"

	"github.com/gannet-mq/gannet/internal/batch"
)

// The broker hands records from ReadRecords to consumers without copying
// them, so a result must own its memory: later reads, decodes of other
// (compressed) batches and appends must never change it.
func TestReadRecordsResultsOwnTheirMemory(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{})
	appendN(t, l, 0, 20)
	compressed := []batch.Compression{batch.Gzip, batch.Snappy, batch.LZ4, batch.Zstd}
	for _, c := range compressed {
		recs := []batch.Record{{Key: []byte("k"), Value: bytes.Repeat([]byte{byte('a' + c)}, 300),
			Headers: []batch.Header{{Key: "h", Value: []byte{byte(c)}}}}}
		raw, err := batch.Append(nil, 0, recs, batch.EncodeOptions{Compression: c, ProducerID: batch.NoProducer})
		if err != nil {
			t.Fatal(err)
		}
		a, err := l.AppendBatch(raw)
		if err != nil {
			t.Fatalf("AppendBatch(%v): %v", c, err)
		}
		if err := a.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	// check compares records with what was appended, not with a copy of
	// themselves, so memory reused under them cannot go unnoticed.
	check := func(when string, recs []batch.Record) {
		t.Helper()
		if len(recs) != 20+len(compressed) {
			t.Fatalf("%s: %d records, want %d", when, len(recs), 20+len(compressed))
		}
		checkValues(t, recs[:20], 0, 0)
		for i, c := range compressed {
			r := recs[20+i]
			if !bytes.Equal(r.Value, bytes.Repeat([]byte{byte('a' + c)}, 300)) ||
				len(r.Headers) != 1 || r.Headers[0].Key != "h" || !bytes.Equal(r.Headers[0].Value, []byte{byte(c)}) {
				t.Fatalf("%s: %v record changed: value %q headers %+v", when, c, r.Value, r.Headers)
			}
		}
	}
	first := readAll(t, l, 0)
	check("as read", first)
	// Read everything again (one batch at a time, then all at once, reusing a
	// dst slice) and append more, exercising every pooled decoder path.
	var dst []batch.Record
	for off := int64(0); off < l.EndOffset(); off++ {
		var err error
		if dst, err = l.ReadRecords(off, 1, dst[:0]); err != nil {
			t.Fatal(err)
		}
	}
	readAll(t, l, 0)
	appendN(t, l, 100, 20)
	readAll(t, l, 0)

	check("after later reads and appends", first)
}
