package resp

import (
	"bufio"
	"io"
)

// Writer buffers replies for one connection in the protocol version it has
// negotiated. Each Write method encodes straight into the bufio.Writer's free
// space, so replies that fit cost no allocation; large bulk payloads are
// copied through without being re-encoded.
//
// The Write methods return nothing: bufio.Writer keeps the first I/O error,
// and Flush reports it. A server writes a batch of replies and checks Flush.
type Writer struct {
	bw      *bufio.Writer
	version Version
}

// NewWriter returns a Writer to w with a buffer of size bytes (16 KiB if
// size <= 0) that speaks RESP2 until SetVersion is called.
func NewWriter(w io.Writer, size int) *Writer {
	if size <= 0 {
		size = initialBufferSize
	}
	return &Writer{bw: bufio.NewWriterSize(w, size), version: RESP2}
}

// SetVersion switches the reply protocol, as HELLO does.
func (w *Writer) SetVersion(v Version) { w.version = v }

// Version reports the reply protocol in use.
func (w *Writer) Version() Version { return w.version }

// Buffered reports how many bytes are waiting for Flush.
func (w *Writer) Buffered() int { return w.bw.Buffered() }

// Flush writes the buffered replies and reports the first error met since
// the Writer was created.
func (w *Writer) Flush() error { return w.bw.Flush() }

// Write copies already encoded replies, e.g. built with the Append functions.
func (w *Writer) Write(p []byte) (int, error) { return w.bw.Write(p) }

// The methods below encode one reply each, like the Append function of the
// same name, in the Writer's protocol version.

// WriteSimple writes a simple string; see AppendSimple.
func (w *Writer) WriteSimple(s string) { w.bw.Write(AppendSimple(w.bw.AvailableBuffer(), s)) }

// WriteError writes an error line such as "ERR syntax error"; see AppendError.
func (w *Writer) WriteError(line string) { w.bw.Write(AppendError(w.bw.AvailableBuffer(), line)) }

// WriteInt writes an integer.
func (w *Writer) WriteInt(n int64) { w.bw.Write(AppendInt(w.bw.AvailableBuffer(), n)) }

// WriteNull writes the null of a missing value; see AppendNull.
func (w *Writer) WriteNull() { w.bw.Write(AppendNull(w.bw.AvailableBuffer(), w.version)) }

// WriteNullArray writes the null of a missing aggregate; see AppendNullArray.
func (w *Writer) WriteNullArray() {
	w.bw.Write(AppendNullArray(w.bw.AvailableBuffer(), w.version))
}

// WriteArrayHeader starts an array of n elements.
func (w *Writer) WriteArrayHeader(n int) {
	w.bw.Write(AppendArrayHeader(w.bw.AvailableBuffer(), n))
}

// WriteMapHeader starts a map of n pairs; see AppendMapHeader.
func (w *Writer) WriteMapHeader(n int) {
	w.bw.Write(AppendMapHeader(w.bw.AvailableBuffer(), w.version, n))
}

// WriteSetHeader starts a set of n elements; see AppendSetHeader.
func (w *Writer) WriteSetHeader(n int) {
	w.bw.Write(AppendSetHeader(w.bw.AvailableBuffer(), w.version, n))
}

// WritePushHeader starts a push message of n elements; see AppendPushHeader.
func (w *Writer) WritePushHeader(n int) {
	w.bw.Write(AppendPushHeader(w.bw.AvailableBuffer(), w.version, n))
}

// WriteDouble writes a floating point number; see AppendDouble.
func (w *Writer) WriteDouble(f float64) {
	w.bw.Write(AppendDouble(w.bw.AvailableBuffer(), w.version, f))
}

// WriteBool writes a boolean; see AppendBool.
func (w *Writer) WriteBool(t bool) { w.bw.Write(AppendBool(w.bw.AvailableBuffer(), w.version, t)) }

// WriteBigNumber writes a big integer given as decimal digits; see AppendBigNumber.
func (w *Writer) WriteBigNumber(digits string) {
	w.bw.Write(AppendBigNumber(w.bw.AvailableBuffer(), w.version, digits))
}

// WriteBulk writes p as a bulk string without staging it in a second buffer.
func (w *Writer) WriteBulk(p []byte) {
	w.bw.Write(appendHeader(w.bw.AvailableBuffer(), '$', int64(len(p))))
	w.bw.Write(p)
	w.bw.WriteString("\r\n")
}

// WriteBulkString writes s as a bulk string.
func (w *Writer) WriteBulkString(s string) {
	w.bw.Write(appendHeader(w.bw.AvailableBuffer(), '$', int64(len(s))))
	w.bw.WriteString(s)
	w.bw.WriteString("\r\n")
}

// WriteVerbatim writes a verbatim string; see AppendVerbatim.
func (w *Writer) WriteVerbatim(format string, text []byte) {
	checkVerbatimFormat(format)
	if w.version < RESP3 {
		w.WriteBulk(text)
		return
	}
	w.bw.Write(appendVerbatimHeader(w.bw.AvailableBuffer(), format, len(text)))
	w.bw.Write(text)
	w.bw.WriteString("\r\n")
}
