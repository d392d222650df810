package kafka

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Errors that make the front-end close a connection, as Kafka does when it
// cannot make sense of a request.
var (
	errRequestTooLarge = errors.New("kafka: request size over the limit")
	errBadRequest      = errors.New("kafka: malformed request")
	errUnknownAPI      = errors.New("kafka: unknown api key")
	errBadVersion      = errors.New("kafka: unsupported api version")
)

// requestHeader is request header v1 or v2 (v2 adds tagged fields).
type requestHeader struct {
	key           int16
	version       int16
	correlationID int32
	clientID      string
}

// readFrame reads one size-prefixed request into buf (reused when large
// enough). A size over limit or too small to hold a header is refused
// before anything is allocated; a large body is read in steps so that a
// lying size prefix cannot make us allocate it all.
func readFrame(r io.Reader, sizeBuf *[4]byte, limit int, buf []byte) ([]byte, error) {
	if _, err := io.ReadFull(r, sizeBuf[:]); err != nil {
		return nil, err
	}
	size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
	if size < 0 || int64(size) > int64(limit) {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", errRequestTooLarge, size, limit)
	}
	if size < 10 { // key, version, correlation id, client id length
		return nil, fmt.Errorf("%w: %d-byte request", errBadRequest, size)
	}
	const step = 1 << 20
	if cap(buf) >= int(size) {
		buf = buf[:size]
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, unexpectedEOF(err)
		}
		return buf, nil
	}
	buf = make([]byte, 0, min(int(size), step))
	for len(buf) < int(size) {
		n := min(int(size)-len(buf), max(step, len(buf)))
		start := len(buf)
		buf = append(buf, make([]byte, n)...)
		if _, err := io.ReadFull(r, buf[start:]); err != nil {
			return nil, unexpectedEOF(err)
		}
	}
	return buf, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseHeader splits a request into its header and a request of the right
// type and version whose body is still to be read from the returned bytes.
func parseHeader(frame []byte) (requestHeader, kmsg.Request, []byte, error) {
	var h requestHeader
	h.key = int16(binary.BigEndian.Uint16(frame[0:]))
	h.version = int16(binary.BigEndian.Uint16(frame[2:]))
	h.correlationID = int32(binary.BigEndian.Uint32(frame[4:]))
	n := int16(binary.BigEndian.Uint16(frame[8:]))
	rest := frame[10:]
	if n > 0 {
		if int(n) > len(rest) {
			return h, nil, nil, fmt.Errorf("%w: client id overruns the request", errBadRequest)
		}
		h.clientID = string(rest[:n])
		rest = rest[n:]
	}
	req := kmsg.RequestForKey(h.key)
	if req == nil || !supported(h.key) {
		return h, nil, nil, fmt.Errorf("%w %d", errUnknownAPI, h.key)
	}
	if h.version < 0 || h.version > req.MaxVersion() {
		return h, req, nil, fmt.Errorf("%w: %s v%d", errBadVersion, kmsg.NameForKey(h.key), h.version)
	}
	req.SetVersion(h.version)
	if req.IsFlexible() {
		var err error
		if rest, err = skipTags(rest); err != nil {
			return h, req, nil, err
		}
	}
	return h, req, rest, nil
}

// skipTags skips a tagged-field section (KIP-482).
func skipTags(b []byte) ([]byte, error) {
	count, n := binary.Uvarint(b)
	if n <= 0 || count > uint64(len(b)) {
		return nil, fmt.Errorf("%w: bad tagged fields", errBadRequest)
	}
	b = b[n:]
	for range count {
		if _, n = binary.Uvarint(b); n <= 0 {
			return nil, fmt.Errorf("%w: bad tag", errBadRequest)
		}
		b = b[n:]
		size, n := binary.Uvarint(b)
		if n <= 0 || size > uint64(len(b)-n) {
			return nil, fmt.Errorf("%w: bad tag size", errBadRequest)
		}
		b = b[n+int(size):]
	}
	return b, nil
}

// decodeRequest parses a whole request frame. Besides what kmsg checks, it
// refuses a body that kmsg reads differently from how it was written (a
// negative length for an array that cannot be null, trailing bytes), as
// Kafka's own parser does. That check is made for non-flexible versions
// only: in flexible ones a client may order tagged fields differently from
// kmsg, which is legal. Produce is not re-encoded (its records are large).
func decodeRequest(frame []byte) (requestHeader, kmsg.Request, error) {
	h, req, body, err := parseHeader(frame)
	if err != nil {
		return h, req, err
	}
	if err := req.ReadFrom(body); err != nil {
		return h, req, fmt.Errorf("%w: %s v%d: %v", errBadRequest, kmsg.NameForKey(h.key), h.version, err)
	}
	if h.key != int16(kmsg.Produce) && !req.IsFlexible() && !canonical(req, body) {
		return h, req, fmt.Errorf("%w: %s v%d does not parse cleanly", errBadRequest, kmsg.NameForKey(h.key), h.version)
	}
	return h, req, nil
}

// canonical reports whether req encodes back to exactly body's length and
// bytes. kmsg reads a negative array length as an empty array and ignores
// nothing else, so a mismatch means input Kafka would refuse.
func canonical(req kmsg.Request, body []byte) bool {
	return bytes.Equal(req.AppendTo(make([]byte, 0, len(body))), body)
}

// appendResponse frames a response: size, correlation id, header tags
// (response header v1) for flexible versions except ApiVersions, body.
func appendResponse(dst []byte, correlationID int32, resp kmsg.Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlationID))
	if resp.IsFlexible() && resp.Key() != int16(kmsg.ApiVersions) {
		dst = append(dst, 0)
	}
	dst = resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}
