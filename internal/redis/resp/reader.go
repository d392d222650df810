package resp

import (
	"bytes"
	"io"
)

// Limits bound what one client request may make the server hold in memory.
// A zero field takes its default from DefaultLimits.
type Limits struct {
	// MaxBulkLen caps one argument, like Redis' proto-max-bulk-len (512 MB
	// there). Gannet's default is 8 MiB: far above the 1 MiB message maximum,
	// far below what a single connection should be able to pin.
	MaxBulkLen int
	// MaxArgs caps the "*N" count of a multibulk request. Redis accepted up
	// to 1024*1024 for most of its history; Gannet keeps that bound.
	MaxArgs int
	// MaxInlineLen caps an inline request line and each "*N"/"$N" header
	// line, like Redis' PROTO_INLINE_MAX_SIZE (64 KiB).
	MaxInlineLen int
	// MaxCommandSize caps the encoded size of one whole request, the analogue
	// of Redis' client-query-buffer-limit; exceeding it yields
	// ErrQueryBufferLimit.
	MaxCommandSize int
}

// DefaultLimits returns the limits used for zero fields of Limits.
func DefaultLimits() Limits {
	return Limits{
		MaxBulkLen:     8 << 20,
		MaxArgs:        1 << 20,
		MaxInlineLen:   64 << 10,
		MaxCommandSize: 64 << 20,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBulkLen <= 0 {
		l.MaxBulkLen = d.MaxBulkLen
	}
	if l.MaxArgs <= 0 {
		l.MaxArgs = d.MaxArgs
	}
	if l.MaxInlineLen <= 0 {
		l.MaxInlineLen = d.MaxInlineLen
	}
	if l.MaxCommandSize <= 0 {
		l.MaxCommandSize = d.MaxCommandSize
	}
	return l
}

// initialBufferSize matches Redis' PROTO_IOBUF_LEN: one read of this size
// holds dozens of typical pipelined commands.
const initialBufferSize = 16 << 10

// maxEmptyReads is how many (0, nil) reads in a row are tolerated before
// giving up with io.ErrNoProgress, as bufio does.
const maxEmptyReads = 100

// span locates one argument relative to the start of the command being
// parsed, so it stays valid when the buffer is compacted or regrown mid-command.
type span struct{ off, len int }

// Reader parses client requests from a byte stream. It is not safe for
// concurrent use.
type Reader struct {
	src    io.Reader
	limits Limits

	buf        []byte
	start, end int // unread input is buf[start:end]
	readErr    error
	failed     error // a protocol error poisons the stream for good

	spans           []span
	lastCommandSize int
	baseSize        int // the size shrink returns to
}

// NewReader returns a Reader of requests from src.
func NewReader(src io.Reader, limits Limits) *Reader {
	return NewReaderSize(src, limits, initialBufferSize)
}

// NewReaderSize returns a Reader whose buffer starts at size bytes (at
// least 16 KiB): a server expecting large pipelines reads them in fewer
// system calls.
func NewReaderSize(src io.Reader, limits Limits, size int) *Reader {
	size = max(size, initialBufferSize)
	return &Reader{src: src, limits: limits.withDefaults(), buf: make([]byte, size), baseSize: size}
}

// Buffered reports how many bytes of input have been read from the source but
// not yet returned as commands. A server flushes its replies when Buffered is
// zero, i.e. before ReadCommand would block waiting for the client: while
// pipelined requests are still buffered their replies can be batched.
func (r *Reader) Buffered() int { return r.end - r.start }

// ReadCommand reads the next request, appending its arguments to dst[:0].
// It accepts the multibulk form ("*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n") and the
// inline form ("ECHO hi\r\n", with Redis' quoting rules), and skips empty
// requests ("\r\n", "*0\r\n", "*-1\r\n") as Redis does.
//
// The returned arguments alias the Reader's buffer: they are valid only
// until the next call to ReadCommand. Copy what must outlive that. Their
// capacity is clipped, so appending to one never overwrites another.
//
// Errors: io.EOF at a request boundary; io.ErrUnexpectedEOF (or the
// source's error) inside a request; a *ProtocolError for malformed input,
// whose Reply the server sends before closing the connection; and
// ErrQueryBufferLimit, on which the server closes without a reply. After a
// *ProtocolError or ErrQueryBufferLimit every later call fails the same way.
func (r *Reader) ReadCommand(dst [][]byte) ([][]byte, error) {
	dst = dst[:0]
	if r.failed != nil {
		return dst, r.failed
	}
	r.shrink()
	for {
		if r.start == r.end {
			if err := r.fill(); err != nil {
				return dst, err
			}
			continue
		}
		var size int
		var err error
		if r.buf[r.start] == '*' {
			size, err = r.parseMultibulk()
		} else {
			size, err = r.parseInline()
		}
		if err != nil {
			if err != io.ErrUnexpectedEOF && err != r.readErr {
				r.failed = err
			}
			return dst, err
		}
		command := r.buf[r.start : r.start+size]
		r.start += size
		r.lastCommandSize = size
		if len(r.spans) == 0 {
			continue
		}
		for _, s := range r.spans {
			end := s.off + s.len
			dst = append(dst, command[s.off:end:end])
		}
		return dst, nil
	}
}

// parseMultibulk parses "*N\r\n" followed by N "$len\r\ndata\r\n" elements
// and returns the size of the whole request. Nothing is sized from N or len:
// spans grow per element parsed and the buffer per byte received.
func (r *Reader) parseMultibulk() (int, error) {
	r.spans = r.spans[:0]
	newline, err := r.line(0, ErrMultibulkCountTooBig)
	if err != nil {
		return 0, err
	}
	count, err := r.headerNumber(0, newline, ErrInvalidMultibulkLength)
	if err != nil {
		return 0, err
	}
	if count > int64(r.limits.MaxArgs) {
		return 0, protocolError(ErrInvalidMultibulkLength)
	}
	pos := newline + 1
	for i := int64(0); i < count; i++ {
		if pos > r.limits.MaxCommandSize {
			return 0, ErrQueryBufferLimit
		}
		newline, err := r.line(pos, ErrBulkCountTooBig)
		if err != nil {
			return 0, err
		}
		if prefix := r.buf[r.start+pos]; prefix != '$' {
			return 0, &ProtocolError{Kind: ErrExpectedBulk, Detail: "expected '$', got '" + string([]byte{prefix}) + "'"}
		}
		length, err := r.headerNumber(pos, newline, ErrInvalidBulkLength)
		if err != nil {
			return 0, err
		}
		if length < 0 || length > int64(r.limits.MaxBulkLen) {
			return 0, protocolError(ErrInvalidBulkLength)
		}
		data, n := newline+1, int(length)
		if data+n+2 > r.limits.MaxCommandSize {
			return 0, ErrQueryBufferLimit
		}
		if err := r.need(data + n + 2); err != nil {
			return 0, err
		}
		if r.buf[r.start+data+n] != '\r' || r.buf[r.start+data+n+1] != '\n' {
			return 0, protocolError(ErrUnterminatedBulk)
		}
		r.spans = append(r.spans, span{off: data, len: n})
		pos = data + n + 2
	}
	return pos, nil
}

// parseInline parses one line of space-separated, optionally quoted
// arguments ended by "\n" or "\r\n" and returns the size of the line.
func (r *Reader) parseInline() (int, error) {
	r.spans = r.spans[:0]
	newline, err := r.line(0, ErrInlineTooBig)
	if err != nil {
		return 0, err
	}
	end := newline
	if end > 0 && r.buf[r.start+end-1] == '\r' {
		end--
	}
	if end > r.limits.MaxInlineLen {
		return 0, protocolError(ErrInlineTooBig)
	}
	if err := r.splitInline(r.buf[r.start : r.start+end]); err != nil {
		return 0, err
	}
	return newline + 1, nil
}

// line returns the offset, relative to the command start, of the '\n' that
// ends the line starting at offset from. Only MaxInlineLen+2 bytes are
// searched (content, '\r', '\n'), so the outcome does not depend on how the
// input was split into reads.
func (r *Reader) line(from int, tooBig error) (int, error) {
	window := r.limits.MaxInlineLen + 2
	searched := 0
	for {
		available := min(r.end-r.start-from, window)
		if i := bytes.IndexByte(r.buf[r.start+from+searched:r.start+from+available], '\n'); i >= 0 {
			return from + searched + i, nil
		}
		searched = available
		if searched >= window {
			return 0, protocolError(tooBig)
		}
		if err := r.fill(); err != nil {
			return 0, midCommand(err)
		}
	}
}

// headerNumber parses the number of the "*N\r" or "$N\r" line spanning
// [from, newline), the CR being mandatory. Its length was bounded by line.
func (r *Reader) headerNumber(from, newline int, invalid error) (int64, error) {
	content := r.buf[r.start+from+1 : r.start+newline]
	if len(content) > 0 && content[len(content)-1] == '\r' {
		content = content[:len(content)-1]
	} else {
		return 0, protocolError(invalid)
	}
	n, ok := ParseInt(content)
	if !ok {
		return 0, protocolError(invalid)
	}
	return n, nil
}

// need reads until n bytes of the current command are buffered.
func (r *Reader) need(n int) error {
	for r.end-r.start < n {
		if err := r.fill(); err != nil {
			return midCommand(err)
		}
	}
	return nil
}

func midCommand(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// fill reads at least one more byte into the buffer, making room first by
// moving the current command to the front or, if it already fills the
// buffer, by doubling it. Growth is driven only by bytes that arrived.
func (r *Reader) fill() error {
	if r.readErr != nil {
		return r.readErr
	}
	if r.start == r.end {
		r.start, r.end = 0, 0
	}
	if r.end == len(r.buf) {
		if r.start > 0 {
			r.end = copy(r.buf, r.buf[r.start:r.end])
			r.start = 0
		} else {
			grown := make([]byte, 2*len(r.buf))
			copy(grown, r.buf[:r.end])
			r.buf = grown
		}
	}
	for range maxEmptyReads {
		n, err := r.src.Read(r.buf[r.end:])
		if n < 0 || n > len(r.buf)-r.end {
			n = 0
			if err == nil {
				err = io.ErrShortBuffer
			}
		}
		r.end += n
		if err != nil {
			r.readErr = err
			if n > 0 {
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}

// shrink drops a buffer that grew for one big command once traffic is small
// again, so an idle connection does not pin megabytes. A buffer that recent
// commands still fill is kept, so a stream of big values does not reallocate.
func (r *Reader) shrink() {
	unread := r.end - r.start
	if len(r.buf) <= r.baseSize || unread > r.baseSize/2 || r.lastCommandSize >= len(r.buf)/4 {
		return
	}
	small := make([]byte, r.baseSize)
	r.end = copy(small, r.buf[r.start:r.end])
	r.start = 0
	r.buf = small
}
