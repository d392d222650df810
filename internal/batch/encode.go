package batch

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
)

// Header is one record header. Kafka header values may be null (nil).
type Header struct {
	Key   string
	Value []byte
}

// Record is one decoded record. A nil Key or Value is a null one; an empty
// non-nil slice is an empty one.
type Record struct {
	Offset    int64
	Timestamp int64 // unix milliseconds
	Key       []byte
	Value     []byte
	Headers   []Header
}

// EncodeOptions are the batch-wide fields of an encoded batch.
type EncodeOptions struct {
	Compression Compression
	// ProducerID is written as given; batches without an idempotent producer
	// should use NoProducer (-1), with ProducerEpoch and BaseSequence -1.
	ProducerID    int64
	ProducerEpoch int16
	BaseSequence  int32
	LeaderEpoch   int32
	Transactional bool
	Control       bool
	// ZeroTimestamp, when non-zero, replaces the timestamp of every record
	// whose Timestamp is 0, so a caller can stamp "now" without copying its
	// records.
	ZeroTimestamp int64
}

// Append encodes recs as one batch with the given base offset and appends it
// to dst. Record Offset fields are ignored: the i-th record gets offset
// baseOffset+i. Compressed batches allocate a codec per call.
func Append(dst []byte, baseOffset int64, recs []Record, opts EncodeOptions) ([]byte, error) {
	if len(recs) == 0 {
		return dst, fmt.Errorf("%w: a batch needs at least one record", ErrUnsupported)
	}
	if len(recs) > math.MaxInt32 {
		return dst, fmt.Errorf("%w: %d records", ErrTooLarge, len(recs))
	}
	if opts.Compression < None || opts.Compression > Zstd {
		return dst, fmt.Errorf("%w: compression %d", ErrUnsupported, opts.Compression)
	}
	baseTS := timestampOf(&recs[0], opts.ZeroTimestamp)
	maxTS := baseTS
	for i := range recs {
		maxTS = max(maxTS, timestampOf(&recs[i], opts.ZeroTimestamp))
	}

	start := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	if opts.Compression == None {
		dst = appendRecords(dst, recs, baseTS, opts.ZeroTimestamp)
	} else {
		plain := appendRecords(nil, recs, baseTS, opts.ZeroTimestamp)
		var err error
		if dst, err = compress(dst, plain, opts.Compression); err != nil {
			return dst[:start], err
		}
	}
	length := len(dst) - start - 12
	if length > math.MaxInt32 {
		return dst[:start], fmt.Errorf("%w: %d bytes", ErrTooLarge, length)
	}

	attrs := int16(opts.Compression)
	if opts.Transactional {
		attrs |= attrTransactional
	}
	if opts.Control {
		attrs |= attrControl
	}
	h := dst[start:]
	be := binary.BigEndian
	be.PutUint64(h[0:], uint64(baseOffset))
	be.PutUint32(h[8:], uint32(length))
	be.PutUint32(h[12:], uint32(opts.LeaderEpoch))
	h[16] = Magic
	be.PutUint16(h[21:], uint16(attrs))
	be.PutUint32(h[23:], uint32(len(recs)-1))
	be.PutUint64(h[27:], uint64(baseTS))
	be.PutUint64(h[35:], uint64(maxTS))
	be.PutUint64(h[43:], uint64(opts.ProducerID))
	be.PutUint16(h[51:], uint16(opts.ProducerEpoch))
	be.PutUint32(h[53:], uint32(opts.BaseSequence))
	be.PutUint32(h[57:], uint32(len(recs)))
	be.PutUint32(h[posCRC:], crc32.Checksum(h[posAttributes:], castagnoli))
	return dst, nil
}

func timestampOf(r *Record, zero int64) int64 {
	if r.Timestamp == 0 {
		return zero
	}
	return r.Timestamp
}

func appendRecords(dst []byte, recs []Record, baseTS, zeroTS int64) []byte {
	for i := range recs {
		r := &recs[i]
		tsDelta := timestampOf(r, zeroTS) - baseTS
		dst = appendVarlong(dst, int64(recordBodySize(r, tsDelta, int64(i))))
		dst = append(dst, 0) // record attributes, unused
		dst = appendVarlong(dst, tsDelta)
		dst = appendVarlong(dst, int64(i))
		dst = appendNullableBytes(dst, r.Key)
		dst = appendNullableBytes(dst, r.Value)
		dst = appendVarlong(dst, int64(len(r.Headers)))
		for _, hd := range r.Headers {
			dst = appendVarlong(dst, int64(len(hd.Key)))
			dst = append(dst, hd.Key...)
			dst = appendNullableBytes(dst, hd.Value)
		}
	}
	return dst
}

// recordBodySize is the encoded size of a record after its length prefix.
func recordBodySize(r *Record, tsDelta, offsetDelta int64) int {
	n := 1 + varlongSize(tsDelta) + varlongSize(offsetDelta) +
		nullableBytesSize(r.Key) + nullableBytesSize(r.Value) + varlongSize(int64(len(r.Headers)))
	for _, hd := range r.Headers {
		n += varlongSize(int64(len(hd.Key))) + len(hd.Key) + nullableBytesSize(hd.Value)
	}
	return n
}

func appendNullableBytes(dst, b []byte) []byte {
	if b == nil {
		return appendVarlong(dst, -1)
	}
	return append(appendVarlong(dst, int64(len(b))), b...)
}

func nullableBytesSize(b []byte) int {
	if b == nil {
		return 1
	}
	return varlongSize(int64(len(b))) + len(b)
}
