package broker

import (
	"strconv"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
)

// Header is one message header. Order is kept, and a key may repeat.
type Header = batch.Header

// Message is the protocol-neutral message every front-end produces and
// consumes. Protocol-specific attributes travel as headers whose names are
// listed in docs/protocol-mapping.md.
type Message struct {
	Key       []byte // partitioning and ordering key; nil when absent
	Value     []byte
	Headers   []Header
	Timestamp time.Time // zero means "now" at append time
}

// Record is a message read back from a partition.
type Record struct {
	Partition int32
	Offset    int64
	Message
}

// Headers the core itself reads or writes. Front-ends map their own
// properties onto these so that every protocol sees the same facts.
const (
	HeaderMessageID     = "message-id"     // dedup key; AMQP message_id, SQS MessageDeduplicationId
	HeaderCorrelationID = "correlation-id" // request/reply
	HeaderReplyTo       = "reply-to"       // request/reply
	HeaderContentType   = "content-type"
	// HeaderPriority is a message's priority, a decimal 0-255 (AMQP
	// priority); priority queues store each level in its own partition.
	HeaderPriority = "priority"

	// HeaderExchange and HeaderRoutingKey record how a message was routed;
	// AMQP deliveries report them and dead-lettering reuses the routing key.
	HeaderExchange   = "x-gannet-exchange"
	HeaderRoutingKey = "x-gannet-routing-key"
	// HeaderExpiresAt is the absolute expiry (Unix ms) of a message with a TTL.
	HeaderExpiresAt = "x-gannet-expires-at"
	// HeaderNotBefore is the earliest delivery time (Unix ms) of a delayed message.
	HeaderNotBefore = "x-gannet-not-before"
	// HeaderDeaths is the dead-letter history, a JSON array of DeathEntry,
	// newest first (RabbitMQ's x-death in neutral form).
	HeaderDeaths = "x-gannet-deaths"
)

// HeaderValue returns the last value of key.
func (m *Message) HeaderValue(key string) ([]byte, bool) {
	for i := len(m.Headers) - 1; i >= 0; i-- {
		if m.Headers[i].Key == key {
			return m.Headers[i].Value, true
		}
	}
	return nil, false
}

// SetHeader replaces every value of key with one value.
func (m *Message) SetHeader(key string, value []byte) {
	m.DeleteHeader(key)
	m.Headers = append(m.Headers, Header{Key: key, Value: value})
}

// DeleteHeader removes every value of key.
func (m *Message) DeleteHeader(key string) {
	kept := m.Headers[:0]
	for _, h := range m.Headers {
		if h.Key != key {
			kept = append(kept, h)
		}
	}
	m.Headers = kept
}

// unixMillisHeader reads a header written by setUnixMillis.
func (m *Message) unixMillisHeader(key string) (int64, bool) {
	v, ok := m.HeaderValue(key)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	return n, err == nil
}

func (m *Message) setUnixMillis(key string, ms int64) {
	m.SetHeader(key, strconv.AppendInt(nil, ms, 10))
}

// size is what the max message size limits: value, key and headers.
func (m *Message) size() int {
	n := len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

func toRecord(m *Message) batch.Record {
	var ts int64
	if !m.Timestamp.IsZero() {
		ts = m.Timestamp.UnixMilli()
	}
	return batch.Record{Timestamp: ts, Key: m.Key, Value: m.Value, Headers: m.Headers}
}

func fromRecord(partition int32, r batch.Record) Record {
	return Record{
		Partition: partition,
		Offset:    r.Offset,
		Message: Message{
			Key:       r.Key,
			Value:     r.Value,
			Headers:   r.Headers,
			Timestamp: time.UnixMilli(r.Timestamp),
		},
	}
}

// clone copies a message so that changing its headers leaves the source alone.
func (m *Message) clone() Message {
	c := *m
	c.Headers = append([]Header(nil), m.Headers...)
	return c
}

// MaxPriorityLevel is the highest message priority (AMQP's octet).
const MaxPriorityLevel = 255

// priority reads the priority header; absent or malformed is 0.
func (m *Message) priority() int {
	v, ok := m.HeaderValue(HeaderPriority)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 0 {
		return 0
	}
	return min(n, MaxPriorityLevel)
}
