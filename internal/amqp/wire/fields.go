package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

const (
	maxShortString = math.MaxUint8
	maxLongString  = math.MaxUint32
)

// argReader decodes consecutive fields from a method's arguments, a content
// header or a field table. The first failure sticks: later reads return zero
// values, and err tells what went wrong. This keeps generated decoders to
// one line per field without an error check after each.
//
// It is a value type, used on the stack, so decoding allocates nothing but
// the strings and tables it returns.
type argReader struct {
	buf []byte
	off int
	err error
}

// take returns the next n bytes, or nil after recording ErrTruncated if fewer
// remain. Lengths read from the input are checked here before anything is
// sliced or allocated.
func (r *argReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.buf)-r.off {
		r.err = frameError(ErrTruncated, "payload ends early (need %d bytes, %d left)", n, len(r.buf)-r.off)
		r.off = len(r.buf)
		return nil
	}
	b := r.buf[r.off : r.off+n]
	r.off += n
	return b
}

func (r *argReader) octet() uint8 {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *argReader) short() uint16 {
	if b := r.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *argReader) long() uint32 {
	if b := r.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *argReader) longlong() uint64 {
	if b := r.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *argReader) shortstr() string { return r.shortstrOver("") }

// shortstrOver decodes a short string into a field that holds prev, and
// keeps prev when the bytes are the same: a decode target reused for every
// basic.publish (the broker's channel keeps one) then takes the same
// exchange and routing key without a new string each time.
func (r *argReader) shortstrOver(prev string) string {
	n := int(r.octet())
	b := r.take(n)
	if string(b) == prev { // compared without a conversion
		return prev
	}
	return string(b)
}

// longstrBytes returns a long string's bytes without copying them.
func (r *argReader) longstrBytes() []byte {
	// int(uint32) is negative on 32-bit platforms for lengths over 2 GiB;
	// take rejects negative lengths.
	n := int(r.long())
	return r.take(n)
}

func (r *argReader) longstr() string { return string(r.longstrBytes()) }

// timestamp decodes seconds since the Unix epoch. The value is unsigned on
// the wire; values above MaxInt64 wrap, which keeps the conversion
// reversible.
func (r *argReader) timestamp() time.Time {
	if b := r.take(8); b != nil {
		return time.Unix(int64(binary.BigEndian.Uint64(b)), 0).UTC()
	}
	return time.Time{}
}

func (r *argReader) table() Table { return r.tableAt(0) }

func (r *argReader) tableAt(depth int) Table {
	body := r.longstrBytes()
	if r.err != nil {
		return nil
	}
	t, err := decodeTableBody(body, depth)
	if err != nil {
		r.err = err
		r.off = len(r.buf)
	}
	return t
}

// finish reports the sticky error, or an error if bytes remain unread,
// naming what was being decoded.
func (r *argReader) finish(name string) error {
	if r.err != nil {
		return inMethod(name, r.err)
	}
	if r.off != len(r.buf) {
		return frameError(ErrTrailingBytes, "%s: %d bytes after the last field", name, len(r.buf)-r.off)
	}
	return nil
}

// argWriter appends fields. Like argReader its first error sticks; encoding
// fails only for strings and tables too long for their length prefix and
// for table values of unsupported types.
type argWriter struct {
	buf []byte
	err error
}

func (w *argWriter) octet(v uint8) { w.buf = append(w.buf, v) }

func (w *argWriter) short(v uint16) { w.buf = binary.BigEndian.AppendUint16(w.buf, v) }

func (w *argWriter) long(v uint32) { w.buf = binary.BigEndian.AppendUint32(w.buf, v) }

func (w *argWriter) longlong(v uint64) { w.buf = binary.BigEndian.AppendUint64(w.buf, v) }

func (w *argWriter) shortstr(s string) {
	if len(s) > maxShortString {
		w.fail(fmt.Errorf("%w: %d bytes", ErrShortStringTooLong, len(s)))
		return
	}
	w.buf = append(w.buf, byte(len(s)))
	w.buf = append(w.buf, s...)
}

func (w *argWriter) longstr(s string) {
	if uint64(len(s)) > maxLongString {
		w.fail(ErrLongStringTooLong)
		return
	}
	w.long(uint32(len(s)))
	w.buf = append(w.buf, s...)
}

func (w *argWriter) timestamp(t time.Time) { w.longlong(uint64(t.Unix())) }

func (w *argWriter) table(t Table) {
	if w.err != nil {
		return
	}
	w.buf, w.err = appendTable(w.buf, t, 0)
}

func (w *argWriter) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}
