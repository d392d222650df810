package batch

import "math/bits"

// Kafka varints are zigzag-encoded so that small negative numbers (the -1 of
// a null key) stay one byte long.

func appendVarlong(dst []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		dst = append(dst, byte(u)|0x80)
		u >>= 7
	}
	return append(dst, byte(u))
}

// varlongSize is the encoded size of v.
func varlongSize(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	return (bits.Len64(u|1) + 6) / 7
}

// readVarlong decodes a varlong from the start of b and returns it with the
// number of bytes used; n is 0 if b ends early or the value overflows 64 bits.
func readVarlong(b []byte) (v int64, n int) {
	var u uint64
	var shift uint
	for i, c := range b {
		if i == 10 {
			return 0, 0
		}
		if i == 9 && c > 1 {
			return 0, 0
		}
		u |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int64(u>>1) ^ -int64(u&1), i + 1
		}
		shift += 7
	}
	return 0, 0
}

// readVarint decodes a varint that must fit in 32 bits.
func readVarint(b []byte) (v int32, n int) {
	l, n := readVarlong(b)
	if n == 0 || l < -1<<31 || l > 1<<31-1 {
		return 0, 0
	}
	return int32(l), n
}
