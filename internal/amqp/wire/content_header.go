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

const flagContinuation = 1

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
	// Basic has 14 properties, all in the first flags word. A further word,
	// or a flag without a property, names a property of unknown type that
	// could not even be skipped.
	if flags&flagContinuation != 0 || flags&^(basicPropertyFlags|flagContinuation) != 0 {
		return syntaxError(ErrUnknownProperty, "content header: property flags %#04x name undefined properties", flags)
	}
	p := &h.Properties
	*p = Properties{Flags: flags}
	if flags&BasicFlagContentType != 0 {
		p.ContentType = r.shortstr()
	}
	if flags&BasicFlagContentEncoding != 0 {
		p.ContentEncoding = r.shortstr()
	}
	if flags&BasicFlagHeaders != 0 {
		p.Headers = r.table()
	}
	if flags&BasicFlagDeliveryMode != 0 {
		p.DeliveryMode = r.octet()
	}
	if flags&BasicFlagPriority != 0 {
		p.Priority = r.octet()
	}
	if flags&BasicFlagCorrelationID != 0 {
		p.CorrelationID = r.shortstr()
	}
	if flags&BasicFlagReplyTo != 0 {
		p.ReplyTo = r.shortstr()
	}
	if flags&BasicFlagExpiration != 0 {
		p.Expiration = r.shortstr()
	}
	if flags&BasicFlagMessageID != 0 {
		p.MessageID = r.shortstr()
	}
	if flags&BasicFlagTimestamp != 0 {
		p.Timestamp = r.timestamp()
	}
	if flags&BasicFlagType != 0 {
		p.Type = r.shortstr()
	}
	if flags&BasicFlagUserID != 0 {
		p.UserID = r.shortstr()
	}
	if flags&BasicFlagAppID != 0 {
		p.AppID = r.shortstr()
	}
	if flags&BasicFlagClusterID != 0 {
		p.ClusterID = r.shortstr()
	}
	return r.finish("content header")
}

// presentFlags returns the flags of the properties encoding will write.
func (p *Properties) presentFlags() uint16 {
	f := p.Flags & basicPropertyFlags
	set := func(flag uint16, present bool) {
		if present {
			f |= flag
		}
	}
	set(BasicFlagContentType, p.ContentType != "")
	set(BasicFlagContentEncoding, p.ContentEncoding != "")
	set(BasicFlagHeaders, p.Headers != nil)
	set(BasicFlagDeliveryMode, p.DeliveryMode != 0)
	set(BasicFlagPriority, p.Priority != 0)
	set(BasicFlagCorrelationID, p.CorrelationID != "")
	set(BasicFlagReplyTo, p.ReplyTo != "")
	set(BasicFlagExpiration, p.Expiration != "")
	set(BasicFlagMessageID, p.MessageID != "")
	set(BasicFlagTimestamp, !p.Timestamp.IsZero())
	set(BasicFlagType, p.Type != "")
	set(BasicFlagUserID, p.UserID != "")
	set(BasicFlagAppID, p.AppID != "")
	set(BasicFlagClusterID, p.ClusterID != "")
	return f
}

// Append appends the content header payload (no frame around it) to dst.
func (h *ContentHeader) Append(dst []byte) ([]byte, error) {
	w := argWriter{buf: dst}
	w.short(h.ClassID)
	w.short(0) // weight
	w.longlong(h.BodySize)
	p := &h.Properties
	flags := p.presentFlags()
	w.short(flags)
	if flags&BasicFlagContentType != 0 {
		w.shortstr(p.ContentType)
	}
	if flags&BasicFlagContentEncoding != 0 {
		w.shortstr(p.ContentEncoding)
	}
	if flags&BasicFlagHeaders != 0 {
		w.table(p.Headers)
	}
	if flags&BasicFlagDeliveryMode != 0 {
		w.octet(p.DeliveryMode)
	}
	if flags&BasicFlagPriority != 0 {
		w.octet(p.Priority)
	}
	if flags&BasicFlagCorrelationID != 0 {
		w.shortstr(p.CorrelationID)
	}
	if flags&BasicFlagReplyTo != 0 {
		w.shortstr(p.ReplyTo)
	}
	if flags&BasicFlagExpiration != 0 {
		w.shortstr(p.Expiration)
	}
	if flags&BasicFlagMessageID != 0 {
		w.shortstr(p.MessageID)
	}
	if flags&BasicFlagTimestamp != 0 {
		w.timestamp(p.Timestamp)
	}
	if flags&BasicFlagType != 0 {
		w.shortstr(p.Type)
	}
	if flags&BasicFlagUserID != 0 {
		w.shortstr(p.UserID)
	}
	if flags&BasicFlagAppID != 0 {
		w.shortstr(p.AppID)
	}
	if flags&BasicFlagClusterID != 0 {
		w.shortstr(p.ClusterID)
	}
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
