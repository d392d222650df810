package batch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Errors returned by the codec. Callers test them with errors.Is.
var (
	// ErrCorrupt means the bytes are not a well-formed batch: a bad CRC, a
	// length that does not add up, or records that overrun the batch.
	ErrCorrupt = errors.New("batch: corrupt record batch")
	// ErrShort means fewer bytes were given than the batch header announces.
	ErrShort = errors.New("batch: record batch truncated")
	// ErrUnsupported means a valid batch uses a feature this codec lacks,
	// such as a magic other than 2 or an unknown compression codec.
	ErrUnsupported = errors.New("batch: unsupported record batch")
	// ErrTooLarge means a batch would exceed a size limit when encoded or
	// decompressed.
	ErrTooLarge = errors.New("batch: record batch too large")
)

// HeaderSize is the size of the fixed batch header, up to the records.
const HeaderSize = 61

// Magic is the only batch format version this package speaks.
const Magic = 2

// NoProducer is the producer id of batches written without an idempotent
// producer; set EncodeOptions.ProducerID to it explicitly.
const NoProducer int64 = -1

// byte positions of header fields
const (
	posLength      = 8
	posMagic       = 16
	posCRC         = 17
	posAttributes  = 21 // CRC covers everything from here on
	posRecordCount = 57
	// lengthOverhead is the part of the header counted by batchLength.
	lengthOverhead = HeaderSize - 12
)

const (
	attrCompressionMask = 0x07
	attrLogAppendTime   = 0x08
	attrTransactional   = 0x10
	attrControl         = 0x20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Compression is the codec of a batch's records block.
type Compression int8

// Compression codecs, numbered as in the attributes field.
const (
	None Compression = iota
	Gzip
	Snappy
	LZ4
	Zstd
)

func (c Compression) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	case Snappy:
		return "snappy"
	case LZ4:
		return "lz4"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("compression(%d)", int8(c))
}

// BatchHeader is the fixed part of a batch.
type BatchHeader struct {
	BaseOffset      int64
	Length          int32
	LeaderEpoch     int32
	Magic           int8
	CRC             uint32
	Attributes      int16
	LastOffsetDelta int32
	BaseTimestamp   int64
	MaxTimestamp    int64
	ProducerID      int64
	ProducerEpoch   int16
	BaseSequence    int32
	RecordCount     int32
}

// Compression reports the codec of the records block.
func (h BatchHeader) Compression() Compression {
	return Compression(h.Attributes & attrCompressionMask)
}

// Transactional reports whether the batch belongs to a transaction.
func (h BatchHeader) Transactional() bool { return h.Attributes&attrTransactional != 0 }

// Control reports whether the batch holds control records (commit/abort markers).
func (h BatchHeader) Control() bool { return h.Attributes&attrControl != 0 }

// LogAppendTime reports whether record timestamps were set by the broker;
// readers then use MaxTimestamp for every record.
func (h BatchHeader) LogAppendTime() bool { return h.Attributes&attrLogAppendTime != 0 }

// NextOffset is the offset following the batch's last record.
func (h BatchHeader) NextOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) + 1 }

// Size is the whole batch size in bytes, header included.
func (h BatchHeader) Size() int { return 12 + int(h.Length) }

// ParseHeader decodes the fixed header at the start of b. It checks that the
// magic is 2 and that the length can hold the header; it does not check the
// CRC or that b holds the whole batch (see Verify).
func ParseHeader(b []byte) (BatchHeader, error) {
	if len(b) < HeaderSize {
		return BatchHeader{}, fmt.Errorf("%w: %d header bytes, need %d", ErrShort, len(b), HeaderSize)
	}
	be := binary.BigEndian
	h := BatchHeader{
		BaseOffset:      int64(be.Uint64(b[0:])),
		Length:          int32(be.Uint32(b[8:])),
		LeaderEpoch:     int32(be.Uint32(b[12:])),
		Magic:           int8(b[16]),
		CRC:             be.Uint32(b[17:]),
		Attributes:      int16(be.Uint16(b[21:])),
		LastOffsetDelta: int32(be.Uint32(b[23:])),
		BaseTimestamp:   int64(be.Uint64(b[27:])),
		MaxTimestamp:    int64(be.Uint64(b[35:])),
		ProducerID:      int64(be.Uint64(b[43:])),
		ProducerEpoch:   int16(be.Uint16(b[51:])),
		BaseSequence:    int32(be.Uint32(b[53:])),
		RecordCount:     int32(be.Uint32(b[57:])),
	}
	if h.Magic != Magic {
		return h, fmt.Errorf("%w: magic %d", ErrUnsupported, h.Magic)
	}
	if h.Length < lengthOverhead {
		return h, fmt.Errorf("%w: batch length %d below header size", ErrCorrupt, h.Length)
	}
	if h.LastOffsetDelta < 0 || h.RecordCount < 0 {
		return h, fmt.Errorf("%w: negative record count or offset delta", ErrCorrupt)
	}
	return h, nil
}

// Verify checks that b is exactly one batch with a correct CRC.
func Verify(b []byte) (BatchHeader, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return h, err
	}
	if size := h.Size(); size != len(b) {
		if size > len(b) {
			return h, fmt.Errorf("%w: batch of %d bytes, have %d", ErrShort, size, len(b))
		}
		return h, fmt.Errorf("%w: batch of %d bytes followed by %d extra bytes", ErrCorrupt, size, len(b)-size)
	}
	if sum := crc32.Checksum(b[posAttributes:], castagnoli); sum != h.CRC {
		return h, fmt.Errorf("%w: crc %08x, computed %08x", ErrCorrupt, h.CRC, sum)
	}
	return h, nil
}

// SetBaseOffset rewrites the base offset of the batch at the start of b. The
// field is outside the CRC, so the batch stays valid. b must hold at least
// the first 8 bytes of a batch.
func SetBaseOffset(b []byte, base int64) {
	binary.BigEndian.PutUint64(b[0:8], uint64(base))
}
