package wire

import (
	"time"
)

// Properties are the properties of a basic content header: what a
// publisher sets on a message and a consumer receives with it.
//
// Flags holds the BasicFlag* bits of the properties present. Decoding sets
// it to exactly the properties on the wire, so a decoded header re-encodes
// to the same bytes even when a property was present with a zero value
// (priority 0, an empty content type). Code that builds Properties may leave
// Flags zero: encoding writes every property that is flagged or non-zero.
//
// The fields are named after the basic class's properties in
// spec/amqp0-9-1.txt, from which methods_gen.go generates their encoding.
type Properties struct {
	ContentType     string
	ContentEncoding string
	Headers         Table
	DeliveryMode    uint8 // 1 transient, 2 persistent
	Priority        uint8
	CorrelationID   string
	ReplyTo         string
	Expiration      string // milliseconds, as a decimal string
	MessageID       string
	Timestamp       time.Time // whole seconds
	Type            string
	UserID          string
	AppID           string
	ClusterID       string // reserved; RabbitMQ rejects messages that set it
	Flags           uint16
}

// ContentHeader is the payload of a content header frame.
type ContentHeader struct {
	ClassID    uint16 // always ClassBasic in AMQP 0-9-1
	BodySize   uint64
	Properties Properties
}

// Decode overwrites h with the content header in payload. Only the basic
// class carries content, and a header of another class is an unexpected
// frame.
func (h *ContentHeader) Decode(payload []byte) error {
	r := argReader{buf: payload}
	h.ClassID = r.short()
	r.short() // weight: unused, and ignored as RabbitMQ does
	h.BodySize = r.longlong()
	flags := r.short()
	if r.err != nil {
		return inMethod("content header", r.err)
	}
	if h.ClassID != ClassBasic {
		return &Error{Code: ReplyUnexpectedFrame, Err: ErrNoContentClass,
			Text: "content header for class " + classLabel(h.ClassID) + ", which has no content"}
	}
	// Basic has 14 properties, all in the first flags word. A further word
	// (announced by bit 0, the continuation flag), or a flag without a
	// property, names a property of unknown type that could not even be
	// skipped.
	if flags&^basicPropertyFlags != 0 {
		return syntaxError(ErrUnknownProperty, "content header: property flags %#04x name undefined properties", flags)
	}
	h.Properties = Properties{Flags: flags}
	h.Properties.decode(&r, flags)
	return r.finish("content header")
}

// Append appends the content header payload (no frame around it) to dst.
func (h *ContentHeader) Append(dst []byte) ([]byte, error) {
	w := argWriter{buf: dst}
	w.short(h.ClassID)
	w.short(0) // weight
	w.longlong(h.BodySize)
	flags := h.Properties.presentFlags()
	w.short(flags)
	h.Properties.append(&w, flags)
	return w.buf, w.err
}

// AppendContentHeaderFrame appends a whole content header frame.
func AppendContentHeaderFrame(dst []byte, channel uint16, h *ContentHeader) ([]byte, error) {
	start := len(dst)
	dst = appendFrameHeader(dst, FrameHeader, channel)
	dst, err := h.Append(dst)
	if err != nil {
		return dst[:start], err
	}
	return finishFrame(dst, start), nil
}

// Present returns the flags of the properties that encoding would write:
// those flagged in Flags and those with a non-zero value.
func (p *Properties) Present() uint16 { return p.presentFlags() }
