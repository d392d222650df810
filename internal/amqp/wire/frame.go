package wire

import (
	"bufio"
	"encoding/binary"
	"io"
)

// Frame types.
const (
	FrameMethod    uint8 = 1
	FrameHeader    uint8 = 2
	FrameBody      uint8 = 3
	FrameHeartbeat uint8 = 8
)

const (
	// FrameEnd is the octet that ends every frame.
	FrameEnd byte = 0xCE
	// FrameHeaderSize is the type, channel and size in front of a payload.
	FrameHeaderSize = 7
	// FrameOverhead is what a frame adds to its payload: the header and
	// the frame-end octet. frame-max counts it.
	FrameOverhead = FrameHeaderSize + 1
	// FrameMinSize is the frame-max that every peer must accept, before
	// and after tuning. A server may not tune frame-max below it.
	FrameMinSize = 4096
)

// Frame is one frame read from a connection.
type Frame struct {
	Type    uint8
	Channel uint16
	Payload []byte
}

// MaxBodyFramePayload is how many body octets fit in one body frame under
// a negotiated frame-max. Frames up to FrameMinSize are always allowed.
func MaxBodyFramePayload(maxFrame uint32) int {
	return int(effectiveFrameMax(maxFrame)) - FrameOverhead
}

func effectiveFrameMax(maxFrame uint32) uint32 {
	return max(maxFrame, FrameMinSize)
}

// ReadFrame reads one frame of at most maxFrame octets, overhead included.
// maxFrame is the negotiated frame-max; a value below FrameMinSize (zero
// before tuning, for instance) is raised to it, since peers may always send
// frames that small. The payload is freshly allocated.
//
// It returns io.EOF if the connection closed between frames,
// io.ErrUnexpectedEOF if it closed inside one, and an *Error with
// ReplyFrameError for oversize frames, unknown frame types, heartbeats on
// a channel other than 0 and a bad frame-end octet.
func ReadFrame(r *bufio.Reader, maxFrame uint32) (Frame, error) {
	return ReadFrameInto(r, maxFrame, nil)
}

// ReadFrameInto is ReadFrame reusing buf for the payload when it is large
// enough, so that a connection can read frame after frame without
// allocating. The payload then aliases buf and is valid until buf is
// reused.
func ReadFrameInto(r *bufio.Reader, maxFrame uint32, buf []byte) (Frame, error) {
	// Peek and Discard rather than io.ReadFull into a local array: the
	// array would escape through the io.Reader interface and allocate.
	hdr, err := r.Peek(FrameHeaderSize)
	if err != nil {
		if err == io.EOF && len(hdr) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	f := Frame{Type: hdr[0], Channel: binary.BigEndian.Uint16(hdr[1:3])}
	size := binary.BigEndian.Uint32(hdr[3:7])
	if _, err := r.Discard(FrameHeaderSize); err != nil {
		return Frame{}, err
	}
	switch f.Type {
	case FrameMethod, FrameHeader, FrameBody:
	case FrameHeartbeat:
		if f.Channel != 0 {
			return Frame{}, frameError(ErrBadHeartbeat, "heartbeat frame on channel %d", f.Channel)
		}
	default:
		return Frame{}, frameError(ErrUnknownFrameType, "unknown frame type %d", f.Type)
	}
	limit := effectiveFrameMax(maxFrame)
	if uint64(size)+FrameOverhead > uint64(limit) {
		return Frame{}, frameError(ErrFrameTooLarge, "frame of %d bytes exceeds frame-max %d", uint64(size)+FrameOverhead, limit)
	}
	if uint64(cap(buf)) >= uint64(size) {
		f.Payload = buf[:size]
	} else {
		f.Payload = make([]byte, size)
	}
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	end, err := r.ReadByte()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	if end != FrameEnd {
		return Frame{}, frameError(ErrBadFrameEnd, "frame ends with %#02x, not 0xCE", end)
	}
	return f, nil
}

// AppendFrame appends a frame carrying payload to dst. The caller keeps the
// payload within the negotiated frame-max.
func AppendFrame(dst []byte, frameType uint8, channel uint16, payload []byte) []byte {
	start := len(dst)
	dst = appendFrameHeader(dst, frameType, channel)
	dst = append(dst, payload...)
	return finishFrame(dst, start)
}

// AppendHeartbeat appends a heartbeat frame.
func AppendHeartbeat(dst []byte) []byte {
	return AppendFrame(dst, FrameHeartbeat, 0, nil)
}

// AppendMethodFrame appends a method frame carrying m. On error dst is
// returned unchanged.
func AppendMethodFrame(dst []byte, channel uint16, m Method) ([]byte, error) {
	start := len(dst)
	dst = appendFrameHeader(dst, FrameMethod, channel)
	dst = binary.BigEndian.AppendUint16(dst, m.ClassID())
	dst = binary.BigEndian.AppendUint16(dst, m.MethodID())
	dst, err := m.AppendArgs(dst)
	if err != nil {
		return dst[:start], err
	}
	return finishFrame(dst, start), nil
}

// AppendBodyFrames appends body as body frames no larger than maxFrame
// (raised to FrameMinSize like ReadFrame's). An empty body needs no frame.
func AppendBodyFrames(dst []byte, channel uint16, body []byte, maxFrame uint32) []byte {
	chunk := MaxBodyFramePayload(maxFrame)
	for len(body) > 0 {
		n := min(chunk, len(body))
		dst = AppendFrame(dst, FrameBody, channel, body[:n])
		body = body[n:]
	}
	return dst
}

// appendFrameHeader appends type and channel and leaves room for the size,
// which finishFrame fills in.
func appendFrameHeader(dst []byte, frameType uint8, channel uint16) []byte {
	dst = append(dst, frameType)
	dst = binary.BigEndian.AppendUint16(dst, channel)
	return append(dst, 0, 0, 0, 0)
}

func finishFrame(dst []byte, start int) []byte {
	size := len(dst) - start - FrameHeaderSize
	binary.BigEndian.PutUint32(dst[start+3:], uint32(size))
	return append(dst, FrameEnd)
}
