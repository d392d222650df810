package batch

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sync"
)

// posMaxTimestamp is where the header's maxTimestamp field starts.
const posMaxTimestamp = 35

// NoTimestamp is Kafka's "no timestamp" (-1): the max timestamp of a batch
// none of whose records has a larger one.
const NoTimestamp int64 = -1

// maxTimeDecoders decompress batches for RecordsMaxTimestamp; a Decoder
// keeps codec state worth reusing between calls.
var maxTimeDecoders = sync.Pool{New: func() any { return new(Decoder) }}

// RecordsMaxTimestamp returns the largest timestamp among the records of the
// batch b, read from the records themselves (baseTimestamp plus each
// timestampDelta) rather than from the header's maxTimestamp, which a
// producer can set to anything. The log-append-time flag is ignored: these
// are the records' create times. A batch whose records carry nothing above
// NoTimestamp gets NoTimestamp, as from Kafka. Compressed records are
// decompressed (with a pooled Decoder); uncompressed ones are only walked,
// without decoding keys, values or headers. b must hold the whole batch.
func RecordsMaxTimestamp(b []byte) (int64, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return NoTimestamp, err
	}
	if h.Size() > len(b) {
		return NoTimestamp, fmt.Errorf("%w: batch of %d bytes, have %d", ErrShort, h.Size(), len(b))
	}
	data := b[HeaderSize:h.Size()]
	if c := h.Compression(); c != None {
		d := maxTimeDecoders.Get().(*Decoder) // pooled ones keep the default cap
		defer maxTimeDecoders.Put(d)
		if data, err = d.decompress(data, c, DefaultMaxDecompressed); err != nil {
			return NoTimestamp, err
		}
	}
	return maxRecordTimestamp(h, data)
}

// maxRecordTimestamp walks an uncompressed records block, reading only each
// record's length and timestamp delta.
func maxRecordTimestamp(h BatchHeader, data []byte) (int64, error) {
	n := int(h.RecordCount)
	if n > len(data)/minRecordSize {
		return NoTimestamp, fmt.Errorf("%w: %d records cannot fit in %d bytes", ErrCorrupt, n, len(data))
	}
	maxTS := NoTimestamp
	for i := range n {
		length, k := readVarint(data)
		if k == 0 || length < minRecordSize-1 || int(length) > len(data)-k {
			return NoTimestamp, fmt.Errorf("%w: record %d: bad length", ErrCorrupt, i)
		}
		body := data[k : k+int(length)]
		data = data[k+int(length):]
		delta, m := readVarlong(body[1:]) // body[0] is the record attributes
		if m == 0 {
			return NoTimestamp, fmt.Errorf("%w: record %d: bad timestamp delta", ErrCorrupt, i)
		}
		maxTS = max(maxTS, h.BaseTimestamp+delta)
	}
	if len(data) != 0 {
		return NoTimestamp, fmt.Errorf("%w: %d bytes after the last record", ErrCorrupt, len(data))
	}
	return maxTS, nil
}

// SetMaxTimestamp makes the batch at the start of b a create-time batch
// (log-append-time flag cleared) whose maxTimestamp is ts, and recomputes
// its CRC, as Kafka's broker does to a produced batch on a CreateTime topic.
// b must hold the whole batch (see Verify).
func SetMaxTimestamp(b []byte, ts int64) {
	be := binary.BigEndian
	end := 12 + int(be.Uint32(b[posLength:]))
	be.PutUint16(b[posAttributes:], be.Uint16(b[posAttributes:])&^attrLogAppendTime)
	be.PutUint64(b[posMaxTimestamp:], uint64(ts))
	be.PutUint32(b[posCRC:], crc32.Checksum(b[posAttributes:end], castagnoli))
}
