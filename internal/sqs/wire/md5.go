package wire

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"unsafe"
)

// MD5OfBody is the hex MD5 of a message body, as SDKs verify it.
func MD5OfBody(body string) string {
	sum := md5.Sum(StringBytes(body))
	return hex.EncodeToString(sum[:])
}

// StringBytes views a string's bytes without copying them. The bytes must
// never be written to: callers only hash, append or store them.
func StringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// Transport types in AWS' attribute digest.
const (
	transportString     = 1
	transportBinary     = 2
	transportStringList = 3
	transportBinaryList = 4
)

// MD5OfAttributes is AWS' digest of message (or message system) attributes:
// for each name in byte order, the length-prefixed name, the
// length-prefixed data type, a transport byte and the length-prefixed
// value, all lengths 4-byte big-endian. It is "" for no attributes.
func MD5OfAttributes(attrs map[string]MessageAttributeValue) string {
	if len(attrs) == 0 {
		return ""
	}
	h := md5.New()
	var buf []byte
	lp := func(b []byte) {
		buf = binary.BigEndian.AppendUint32(buf[:0], uint32(len(b)))
		h.Write(buf)
		h.Write(b)
	}
	for _, name := range sortedKeys(attrs) {
		v := attrs[name]
		lp([]byte(name))
		lp([]byte(v.DataType))
		switch {
		case v.StringValue != nil:
			h.Write([]byte{transportString})
			lp([]byte(*v.StringValue))
		case v.BinaryValue != nil:
			h.Write([]byte{transportBinary})
			lp(v.BinaryValue)
		case v.StringListValues != nil:
			h.Write([]byte{transportStringList})
			for _, s := range v.StringListValues {
				lp([]byte(s))
			}
		case v.BinaryListValues != nil:
			h.Write([]byte{transportBinaryList})
			for _, b := range v.BinaryListValues {
				lp(b)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// IsBinaryType tells whether a data type (Binary, Binary.custom) carries bytes.
func IsBinaryType(dataType string) bool {
	return dataType == "Binary" || strings.HasPrefix(dataType, "Binary.")
}

// ValidMessageText reports whether s holds only the characters SQS allows
// in bodies and attribute values: #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD
// #x10000-#x10FFFF.
func ValidMessageText(s string) bool {
	// Printable ASCII is the common case: check it a byte at a time and
	// decode runes only from the first other byte on.
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x80 {
		i++
	}
	for _, r := range s[i:] {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}
