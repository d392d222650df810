package batch

import (
	"bytes"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/gannet-mq/gannet/internal/intern"
)

// minRecordSize is the smallest encoded record: a one-byte length and six
// one-byte fields (attributes, deltas, key and value lengths, header count).
const minRecordSize = 7

// minHeaderSize is the smallest encoded record header: empty key, null value.
const minHeaderSize = 2

// Decoder decodes batches and keeps codec state between calls, which matters
// for zstd. The zero value is ready to use; it is not safe for concurrent use.
type Decoder struct {
	// MaxDecompressed caps one batch's decompressed records block;
	// 0 means DefaultMaxDecompressed.
	MaxDecompressed int

	src       bytes.Reader // the compressed block, for the streaming codecs
	gzip      *gzip.Reader
	lz4       *lz4.Reader
	zstd      *zstd.Decoder
	zstdLimit int
	// keys interns header keys: records of one stream carry the same few
	// (an AMQP publish's exchange, routing key and properties), and a
	// string per header and record was most of a delivery's allocations.
	keys intern.Table
}

// Header key interning bounds: keys are short names, and a stream of
// made-up keys must not grow the table without bound.
const (
	maxInternedKeys   = 256
	maxInternedKeyLen = 64
)

// Close releases codec state. The Decoder stays usable.
func (d *Decoder) Close() {
	if d.zstd != nil {
		d.zstd.Close()
		d.zstd = nil
	}
}

// Decode decodes one whole batch with a throw-away Decoder; see Decoder.Decode.
func Decode(b []byte, dst []Record) ([]Record, error) {
	var d Decoder
	defer d.Close()
	return d.Decode(b, dst)
}

// decompressions counts the records blocks Decoders have decompressed.
var decompressions atomic.Int64

// Decompressions reports how many records blocks Decoders have decompressed
// since the process started. Tests use it to check that a path decompresses
// a batch only once.
func Decompressions() int64 { return decompressions.Load() }

// Decode verifies the batch b (exactly one batch, CRC checked), decompresses
// it and appends its records to dst. Keys, values and header values alias b
// (or a fresh decompression buffer), so callers that reuse b must copy them.
// On error dst is returned unchanged.
func (d *Decoder) Decode(b []byte, dst []Record) ([]Record, error) {
	out, _, err := d.DecodeMaxTimestamp(b, dst)
	return out, err
}

// DecodeMaxTimestamp is Decode that also returns the largest timestamp the
// records carry themselves (baseTimestamp plus each timestampDelta), whatever
// the header's maxTimestamp and log-append-time flag say, since a producer
// can set both to anything. Records that carry nothing above NoTimestamp
// give NoTimestamp, as in Kafka. It lets a writer correct the header (see
// WithMaxTimestamp) from the one pass that validates the records.
func (d *Decoder) DecodeMaxTimestamp(b []byte, dst []Record) ([]Record, int64, error) {
	h, err := Verify(b)
	if err != nil {
		return dst, NoTimestamp, err
	}
	data := b[HeaderSize:]
	if c := h.Compression(); c != None {
		limit := d.MaxDecompressed
		if limit <= 0 {
			limit = DefaultMaxDecompressed
		}
		decompressions.Add(1)
		if data, err = d.decompress(data, c, limit); err != nil {
			return dst, NoTimestamp, err
		}
	}
	return d.decodeRecords(h, data, dst)
}

// decodeRecords appends the records of an uncompressed records block to dst
// and returns them with the records' largest create time.
func (d *Decoder) decodeRecords(h BatchHeader, data []byte, dst []Record) ([]Record, int64, error) {
	n := int(h.RecordCount)
	if n > len(data)/minRecordSize {
		return dst, NoTimestamp, fmt.Errorf("%w: %d records cannot fit in %d bytes", ErrCorrupt, n, len(data))
	}
	start := len(dst)
	dst = slices.Grow(dst, n)
	maxTS := NoTimestamp
	var slab []Header                                              // the records' headers, from as few allocations as may be
	d.keys.Max, d.keys.MaxLen = maxInternedKeys, maxInternedKeyLen // the zero Decoder's too
	for i := range n {
		length, k := readVarint(data)
		if k == 0 || length < minRecordSize-1 || int(length) > len(data)-k {
			return dst[:start], NoTimestamp, fmt.Errorf("%w: record %d: bad length", ErrCorrupt, i)
		}
		body := data[k : k+int(length)]
		data = data[k+int(length):]
		rec, err := d.decodeRecord(h, body, &slab, n-i, len(data))
		if err != nil {
			return dst[:start], NoTimestamp, fmt.Errorf("%w: record %d: %s", ErrCorrupt, i, err)
		}
		maxTS = max(maxTS, rec.Timestamp) // the create time, before log-append time replaces it
		if h.LogAppendTime() {
			rec.Timestamp = h.MaxTimestamp
		}
		dst = append(dst, rec)
	}
	if len(data) != 0 {
		return dst[:start], NoTimestamp, fmt.Errorf("%w: %d bytes after the last record", ErrCorrupt, len(data))
	}
	return dst, maxTS, nil
}

// fieldReader walks a record body; the first failure sticks in bad.
type fieldReader struct {
	b   []byte
	bad string
}

func (r *fieldReader) varlong(what string) int64 {
	if r.bad != "" {
		return 0
	}
	v, n := readVarlong(r.b)
	if n == 0 {
		r.bad = "bad " + what
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *fieldReader) nullableBytes(what string) []byte {
	n := r.varlong(what + " length")
	if r.bad != "" || n == -1 {
		return nil
	}
	if n < -1 || n > int64(len(r.b)) {
		r.bad = what + " length out of range"
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// decodeRecord decodes one record's body. Its headers come from slab,
// which it refills when they do not fit: for the records left (this one
// included) with as many headers each, as far as the rest bytes of the
// block could hold.
func (d *Decoder) decodeRecord(h BatchHeader, body []byte, slab *[]Header, left, rest int) (Record, error) {
	r := fieldReader{b: body[1:]} // body[0] is the unused record attributes byte
	tsDelta := r.varlong("timestamp delta")
	offsetDelta := r.varlong("offset delta")
	rec := Record{Key: r.nullableBytes("key"), Value: r.nullableBytes("value")}
	headerCount := r.varlong("header count")
	if r.bad == "" && (headerCount < 0 || headerCount > int64(len(r.b)/minHeaderSize)) {
		r.bad = "header count out of range"
	}
	if r.bad == "" && headerCount > 0 {
		k := int(headerCount)
		if k > cap(*slab)-len(*slab) {
			*slab = make([]Header, 0, max(k, min(k*left, k+rest/minHeaderSize)))
		}
		at := len(*slab)
		*slab = (*slab)[:at+k]
		rec.Headers = (*slab)[at : at+k : at+k] // an append by the caller must not reach the next record's
		for j := range rec.Headers {
			key := r.nullableBytes("header key")
			if r.bad == "" && key == nil {
				r.bad = "null header key"
			}
			if r.bad != "" {
				break
			}
			rec.Headers[j] = Header{Key: d.keys.String(key), Value: r.nullableBytes("header value")}
		}
	}
	if r.bad == "" && len(r.b) != 0 {
		r.bad = "bytes left after the headers"
	}
	if r.bad == "" && (offsetDelta < 0 || offsetDelta > int64(h.LastOffsetDelta)) {
		r.bad = "offset delta outside the batch"
	}
	if r.bad != "" {
		return Record{}, fmt.Errorf("%s", r.bad)
	}
	rec.Offset = h.BaseOffset + offsetDelta
	rec.Timestamp = h.BaseTimestamp + tsDelta // decodeRecords applies log-append time
	return rec, nil
}
