package batch

import (
	"encoding/binary"
	"hash/crc32"
)

// posMaxTimestamp is where the header's maxTimestamp field starts.
const posMaxTimestamp = 35

// NoTimestamp is Kafka's "no timestamp" (-1): the max timestamp of a batch
// none of whose records has a larger one.
const NoTimestamp int64 = -1

// WithMaxTimestamp returns h, the header of the whole batch b (see Verify),
// made a create-time batch (log-append-time flag cleared) whose maxTimestamp
// is ts, with the CRC that goes with it, as Kafka's broker makes a produced
// batch on a CreateTime topic; changed reports whether that differs from h.
// b is left alone: the CRC is computed over a changed copy of the header and
// then b's records, so a caller can write the result (PutMaxTimestamp) into its
// own copy of b later without hashing the batch again.
func WithMaxTimestamp(b []byte, h BatchHeader, ts int64) (fixed BatchHeader, changed bool) {
	if h.MaxTimestamp == ts && !h.LogAppendTime() {
		return h, false
	}
	h.Attributes &^= attrLogAppendTime
	h.MaxTimestamp = ts
	var hdr [HeaderSize]byte
	copy(hdr[:], b)
	putTimestampFields(hdr[:], h)
	h.CRC = crc32.Update(crc32.Checksum(hdr[posAttributes:], castagnoli), castagnoli, b[HeaderSize:h.Size()])
	return h, true
}

// PutMaxTimestamp writes the attributes, maxTimestamp and CRC of h (from
// WithMaxTimestamp) into the batch at the start of b, a copy of the batch h
// was computed from. The base offset and leader epoch, outside the CRC, may
// differ between the two.
func PutMaxTimestamp(b []byte, h BatchHeader) {
	binary.BigEndian.PutUint32(b[posCRC:], h.CRC)
	putTimestampFields(b, h)
}

func putTimestampFields(b []byte, h BatchHeader) {
	binary.BigEndian.PutUint16(b[posAttributes:], uint16(h.Attributes))
	binary.BigEndian.PutUint64(b[posMaxTimestamp:], uint64(h.MaxTimestamp))
}
