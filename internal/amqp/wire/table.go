package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
)

// Table is an AMQP field table (connection properties, queue and exchange
// arguments, message headers). Decoded values have these Go types, keyed by
// the type letter on the wire. The letters are RabbitMQ's, which differ from
// the table in the 0-9-1 specification: 's' is a signed 16-bit integer (not
// a short string), 'l' a signed 64-bit integer, and 'x' a byte array.
//
//	't' bool        'b' int8      'B' uint8     's' int16     'u' uint16
//	'I' int32       'i' uint32    'l' int64     'L' int64     'f' float32
//	'd' float64     'D' Decimal   'S' string    'x' []byte    'A' []any
//	'T' time.Time   'F' Table     'V' nil
//
// 'L' is signed 64-bit in the 0-9-1 specification; RabbitMQ never writes it,
// and it decodes to int64 like 'l'. Encoding writes the letters above for
// the same Go types ('l' for int64), and also accepts int (as 'l') and
// map[string]any (as 'F'). Keys are written in sorted order so that the
// same table always encodes to the same bytes.
type Table map[string]any

// Decimal is an AMQP decimal: Value / 10^Scale.
type Decimal struct {
	Scale uint8
	Value uint32
}

// MaxTableDepth bounds how deeply tables and arrays may nest. Real headers
// nest a few levels (x-death is an array of tables); the limit keeps a
// hostile frame from recursing thousands of levels deep.
const MaxTableDepth = 64

// DecodeTable decodes a field table, length prefix included, that must take
// up all of b.
func DecodeTable(b []byte) (Table, error) {
	r := argReader{buf: b}
	t := r.table()
	return t, r.finish("field table")
}

// AppendTable appends t with its length prefix.
func AppendTable(dst []byte, t Table) ([]byte, error) {
	return appendTable(dst, t, 0)
}

// decodeTableBody decodes the key/value pairs of a table whose length prefix
// has been read already. An empty table decodes to nil so that the common
// empty arguments table costs no allocation.
func decodeTableBody(b []byte, depth int) (Table, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if depth >= MaxTableDepth {
		return nil, syntaxError(ErrTableTooDeep, "field tables nested more than %d deep", MaxTableDepth)
	}
	t := make(Table)
	r := argReader{buf: b}
	for r.off < len(b) && r.err == nil {
		key := r.shortstr()
		v := r.fieldValue(depth + 1)
		if r.err == nil {
			t[key] = v
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return t, nil
}

// fieldValue decodes one type letter and the value after it.
func (r *argReader) fieldValue(depth int) any {
	letter := r.octet()
	if r.err != nil {
		return nil
	}
	switch letter {
	case 't':
		return r.octet() != 0
	case 'b':
		return int8(r.octet())
	case 'B':
		return r.octet()
	case 's':
		return int16(r.short())
	case 'u':
		return r.short()
	case 'I':
		return int32(r.long())
	case 'i':
		return r.long()
	case 'l', 'L':
		return int64(r.longlong())
	case 'f':
		return math.Float32frombits(r.long())
	case 'd':
		return math.Float64frombits(r.longlong())
	case 'D':
		scale := r.octet()
		return Decimal{Scale: scale, Value: r.long()}
	case 'S':
		return r.longstr()
	case 'x':
		b := r.longstrBytes()
		if b == nil {
			return []byte(nil)
		}
		return slices.Clone(b)
	case 'A':
		return r.arrayAt(depth)
	case 'T':
		return r.timestamp()
	case 'F':
		t := r.tableAt(depth)
		if t == nil && r.err == nil {
			// A nested empty table stays a Table, so that it re-encodes
			// as 'F' rather than 'V'.
			return Table{}
		}
		return t
	case 'V':
		return nil
	}
	r.err = syntaxError(ErrUnknownFieldType, "unknown field value type %q", letter)
	r.off = len(r.buf)
	return nil
}

func (r *argReader) arrayAt(depth int) []any {
	body := r.longstrBytes()
	if r.err != nil {
		return nil
	}
	if depth >= MaxTableDepth {
		r.err = syntaxError(ErrTableTooDeep, "field tables nested more than %d deep", MaxTableDepth)
		return nil
	}
	// Grown by append, never sized from the input: each element takes at
	// least one byte, but a length prefix alone proves nothing.
	values := []any{}
	ar := argReader{buf: body}
	for ar.off < len(body) && ar.err == nil {
		v := ar.fieldValue(depth + 1)
		if ar.err == nil {
			values = append(values, v)
		}
	}
	if ar.err != nil {
		r.err = ar.err
		r.off = len(r.buf)
		return nil
	}
	return values
}

func appendTable(dst []byte, t Table, depth int) ([]byte, error) {
	if depth >= MaxTableDepth {
		return dst, fmt.Errorf("%w: nested more than %d deep", ErrUnsupportedValue, MaxTableDepth)
	}
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	// Sorting needs the keys in a slice; most tables are small enough for
	// this array, which stays on the stack.
	var small [16]string
	keys := small[:0]
	for k := range t {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var err error
	for _, k := range keys {
		if len(k) > maxShortString {
			return dst, fmt.Errorf("%w: table key of %d bytes", ErrShortStringTooLong, len(k))
		}
		dst = append(dst, byte(len(k)))
		dst = append(dst, k...)
		if dst, err = appendFieldValue(dst, t[k], depth+1); err != nil {
			return dst, fmt.Errorf("table key %q: %w", k, err)
		}
	}
	return patchLength(dst, start)
}

// patchLength writes the length of what follows the 4-byte prefix at start.
func patchLength(dst []byte, start int) ([]byte, error) {
	n := len(dst) - start - 4
	if uint64(n) > maxLongString {
		return dst, ErrLongStringTooLong
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(n))
	return dst, nil
}

func appendFieldValue(dst []byte, v any, depth int) ([]byte, error) {
	be := binary.BigEndian
	switch v := v.(type) {
	case bool:
		var b byte
		if v {
			b = 1
		}
		return append(dst, 't', b), nil
	case int8:
		return append(dst, 'b', byte(v)), nil
	case uint8:
		return append(dst, 'B', v), nil
	case int16:
		return be.AppendUint16(append(dst, 's'), uint16(v)), nil
	case uint16:
		return be.AppendUint16(append(dst, 'u'), v), nil
	case int32:
		return be.AppendUint32(append(dst, 'I'), uint32(v)), nil
	case uint32:
		return be.AppendUint32(append(dst, 'i'), v), nil
	case int64:
		return be.AppendUint64(append(dst, 'l'), uint64(v)), nil
	case int:
		return be.AppendUint64(append(dst, 'l'), uint64(v)), nil
	case float32:
		return be.AppendUint32(append(dst, 'f'), math.Float32bits(v)), nil
	case float64:
		return be.AppendUint64(append(dst, 'd'), math.Float64bits(v)), nil
	case Decimal:
		return be.AppendUint32(append(dst, 'D', v.Scale), v.Value), nil
	case string:
		if uint64(len(v)) > maxLongString {
			return dst, ErrLongStringTooLong
		}
		dst = be.AppendUint32(append(dst, 'S'), uint32(len(v)))
		return append(dst, v...), nil
	case []byte:
		if uint64(len(v)) > maxLongString {
			return dst, ErrLongStringTooLong
		}
		dst = be.AppendUint32(append(dst, 'x'), uint32(len(v)))
		return append(dst, v...), nil
	case []any:
		return appendArray(append(dst, 'A'), v, depth)
	case time.Time:
		return be.AppendUint64(append(dst, 'T'), uint64(v.Unix())), nil
	case Table:
		return appendTable(append(dst, 'F'), v, depth)
	case map[string]any:
		return appendTable(append(dst, 'F'), Table(v), depth)
	case nil:
		return append(dst, 'V'), nil
	}
	return dst, fmt.Errorf("%w: %T", ErrUnsupportedValue, v)
}

func appendArray(dst []byte, values []any, depth int) ([]byte, error) {
	if depth >= MaxTableDepth {
		return dst, fmt.Errorf("%w: nested more than %d deep", ErrUnsupportedValue, MaxTableDepth)
	}
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	var err error
	for i, v := range values {
		if dst, err = appendFieldValue(dst, v, depth+1); err != nil {
			return dst, fmt.Errorf("array element %d: %w", i, err)
		}
	}
	return patchLength(dst, start)
}
