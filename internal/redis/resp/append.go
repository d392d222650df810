package resp

import (
	"math"
	"strconv"
	"strings"
)

// Version is the reply protocol a connection speaks: RESP2 until the client
// switches with HELLO 3.
type Version int

const (
	RESP2 Version = 2
	RESP3 Version = 3
)

// The Append functions encode one reply (or the header of an aggregate
// reply) at the end of b and return the extended slice, like strconv's
// Append functions. Aggregates are written as a header followed by their
// elements, each appended in turn. Types that exist only in RESP3 fall back
// to what redis-server sends a RESP2 client for the same reply.

// AppendSimple appends a simple string, "+OK\r\n" for s == "OK". CR and LF
// in s become spaces: a simple string cannot contain them, and letting one
// through would let reply content forge protocol lines.
func AppendSimple(b []byte, s string) []byte {
	return appendLine(b, '+', s)
}

// AppendError appends an error reply. line is the whole text after the '-',
// starting with the error code: "ERR unknown command 'FOO'",
// "WRONGTYPE Operation against a key holding the wrong kind of value",
// "NOGROUP No such key 'k' or consumer group 'g'". CR and LF become spaces,
// as redis-server does for error replies.
func AppendError(b []byte, line string) []byte {
	return appendLine(b, '-', line)
}

func appendLine(b []byte, prefix byte, s string) []byte {
	b = append(b, prefix)
	if !strings.ContainsAny(s, "\r\n") {
		b = append(b, s...)
	} else {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == '\r' || c == '\n' {
				c = ' '
			}
			b = append(b, c)
		}
	}
	return append(b, '\r', '\n')
}

// AppendInt appends an integer reply, ":42\r\n".
func AppendInt(b []byte, n int64) []byte {
	return appendHeader(b, ':', n)
}

// AppendBulk appends a bulk string, "$5\r\nhello\r\n".
func AppendBulk(b, p []byte) []byte {
	b = appendHeader(b, '$', int64(len(p)))
	b = append(b, p...)
	return append(b, '\r', '\n')
}

// AppendBulkString appends s as a bulk string.
func AppendBulkString(b []byte, s string) []byte {
	b = appendHeader(b, '$', int64(len(s)))
	b = append(b, s...)
	return append(b, '\r', '\n')
}

// AppendNull appends the null of a missing value (GET of an absent key):
// the null bulk string "$-1" in RESP2, "_" in RESP3.
func AppendNull(b []byte, v Version) []byte {
	if v >= RESP3 {
		return append(b, '_', '\r', '\n')
	}
	return append(b, '$', '-', '1', '\r', '\n')
}

// AppendNullArray appends the null of a missing aggregate (XREAD that timed
// out): the null array "*-1" in RESP2, "_" in RESP3.
func AppendNullArray(b []byte, v Version) []byte {
	if v >= RESP3 {
		return append(b, '_', '\r', '\n')
	}
	return append(b, '*', '-', '1', '\r', '\n')
}

// AppendArrayHeader starts an array of n elements.
func AppendArrayHeader(b []byte, n int) []byte {
	return appendHeader(b, '*', int64(n))
}

// AppendMapHeader starts a map of n key/value pairs: "%n" in RESP3, and in
// RESP2 the flat array of 2n elements that Redis sends instead. Append each
// key followed by its value.
func AppendMapHeader(b []byte, v Version, n int) []byte {
	if v >= RESP3 {
		return appendHeader(b, '%', int64(n))
	}
	return appendHeader(b, '*', 2*int64(n))
}

// AppendSetHeader starts a set of n elements: "~n" in RESP3, an array in RESP2.
func AppendSetHeader(b []byte, v Version, n int) []byte {
	if v >= RESP3 {
		return appendHeader(b, '~', int64(n))
	}
	return appendHeader(b, '*', int64(n))
}

// AppendPushHeader starts an out-of-band push message of n elements
// (pub/sub, client tracking): ">n" in RESP3, an ordinary array in RESP2,
// which is how Redis delivers pub/sub messages to RESP2 clients.
func AppendPushHeader(b []byte, v Version, n int) []byte {
	if v >= RESP3 {
		return appendHeader(b, '>', int64(n))
	}
	return appendHeader(b, '*', int64(n))
}

// AppendDouble appends a floating point reply: ",1.5\r\n" in RESP3 and the
// bulk string "1.5" in RESP2. Infinities are "inf" and "-inf" and NaN is
// "nan", the spellings of the RESP3 specification and of Redis' replies.
// The shortest representation that parses back to f is used.
func AppendDouble(b []byte, v Version, f float64) []byte {
	var digits [32]byte
	text := appendFloat(digits[:0], f)
	if v >= RESP3 {
		b = append(b, ',')
		b = append(b, text...)
		return append(b, '\r', '\n')
	}
	return AppendBulk(b, text)
}

func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case math.IsNaN(f):
		return append(b, "nan"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// AppendBool appends a boolean: "#t"/"#f" in RESP3, and the integers 1/0
// that Redis sends RESP2 clients instead.
func AppendBool(b []byte, v Version, t bool) []byte {
	if v >= RESP3 {
		if t {
			return append(b, '#', 't', '\r', '\n')
		}
		return append(b, '#', 'f', '\r', '\n')
	}
	if t {
		return append(b, ':', '1', '\r', '\n')
	}
	return append(b, ':', '0', '\r', '\n')
}

// AppendVerbatim appends a verbatim string such as the output of INFO:
// "=len\r\ntxt:text\r\n" in RESP3, a plain bulk string in RESP2. format is
// the three-byte type, "txt" or "mkd"; any other length is a programming
// error and panics, since the client would misparse the reply.
func AppendVerbatim(b []byte, v Version, format string, text []byte) []byte {
	if len(format) != 3 {
		panic("resp: verbatim string format must be 3 bytes, got " + strconv.Quote(format))
	}
	if v < RESP3 {
		return AppendBulk(b, text)
	}
	b = appendHeader(b, '=', int64(len(format)+1+len(text)))
	b = append(b, format...)
	b = append(b, ':')
	b = append(b, text...)
	return append(b, '\r', '\n')
}

// AppendBigNumber appends an integer too large for 64 bits, given as its
// decimal digits with an optional leading '-': "(digits" in RESP3, a bulk
// string in RESP2.
func AppendBigNumber(b []byte, v Version, digits string) []byte {
	if v < RESP3 {
		return AppendBulkString(b, digits)
	}
	return appendLine(b, '(', digits)
}

// appendHeader appends prefix, the decimal n and CRLF: the shape of every
// length, count and integer line.
func appendHeader(b []byte, prefix byte, n int64) []byte {
	b = append(b, prefix)
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\r', '\n')
}
