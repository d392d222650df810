package amqp

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
	"github.com/gannet-mq/gannet/internal/broker"
)

// Headers that carry the AMQP properties the core has no name for, so that
// a message published and consumed over AMQP comes back property for
// property. docs/protocols/amqp.md lists the whole mapping.
const (
	hdrContentEncoding = "x-amqp-content-encoding"
	hdrDeliveryMode    = "x-amqp-delivery-mode"
	hdrExpiration      = "x-amqp-expiration"
	hdrTimestamp       = "x-amqp-timestamp" // Unix seconds
	hdrType            = "x-amqp-type"
	hdrUserID          = "x-amqp-user-id"
	hdrAppID           = "x-amqp-app-id"
	hdrClusterID       = "x-amqp-cluster-id"
	// hdrTypes is a JSON object naming the table type letter of every
	// application header whose value is not a long string, so that typed
	// values come back with their type. Scalars are stored as text (what
	// the other protocols read); tables and arrays as their AMQP encoding.
	hdrTypes = "x-amqp-types"
)

const internalPrefix = "x-gannet-"

// toMessage maps a published message onto the core's neutral message.
func toMessage(p *wire.Properties, body []byte) (broker.Message, broker.PublishOptions, error) {
	var msg broker.Message
	var opts broker.PublishOptions
	msg.Value = body
	n := len(p.Headers)
	if n > 0 || p.Flags != 0 {
		msg.Headers = make([]broker.Header, 0, n+4)
	}
	add := func(k, v string) { msg.Headers = append(msg.Headers, broker.Header{Key: k, Value: []byte(v)}) }
	var types map[string]string
	for k, v := range p.Headers {
		if strings.HasPrefix(k, internalPrefix) || strings.HasPrefix(k, "x-amqp-") {
			continue // the core's own facts are never taken from a client
		}
		text, letter, ok := renderValue(v)
		if !ok {
			continue
		}
		if letter != 'S' {
			if types == nil {
				types = make(map[string]string)
			}
			types[k] = string(letter)
		}
		msg.Headers = append(msg.Headers, broker.Header{Key: k, Value: text})
	}
	if types != nil {
		v, _ := json.Marshal(types)
		msg.Headers = append(msg.Headers, broker.Header{Key: hdrTypes, Value: v})
	}
	present := p.Present()
	has := func(flag uint16) bool { return present&flag != 0 }
	if has(wire.BasicFlagContentType) {
		add(broker.HeaderContentType, p.ContentType)
	}
	if has(wire.BasicFlagContentEncoding) {
		add(hdrContentEncoding, p.ContentEncoding)
	}
	if has(wire.BasicFlagDeliveryMode) {
		add(hdrDeliveryMode, strconv.Itoa(int(p.DeliveryMode)))
	}
	if has(wire.BasicFlagPriority) {
		add(broker.HeaderPriority, strconv.Itoa(int(p.Priority)))
	}
	if has(wire.BasicFlagCorrelationID) {
		add(broker.HeaderCorrelationID, p.CorrelationID)
	}
	if has(wire.BasicFlagReplyTo) {
		add(broker.HeaderReplyTo, p.ReplyTo)
	}
	if has(wire.BasicFlagExpiration) {
		ms, err := strconv.ParseInt(p.Expiration, 10, 64)
		if err != nil || ms < 0 {
			return msg, opts, newError(wire.ReplyPreconditionFailed, "invalid expiration '%s'", p.Expiration)
		}
		// A TTL of 0 expires the message unless it can be delivered at once;
		// the core counts whole milliseconds, so 1 ns says "now".
		opts.TTL = max(time.Duration(ms)*time.Millisecond, time.Nanosecond)
		add(hdrExpiration, p.Expiration)
	}
	if has(wire.BasicFlagMessageID) {
		add(broker.HeaderMessageID, p.MessageID)
	}
	if has(wire.BasicFlagTimestamp) {
		add(hdrTimestamp, strconv.FormatInt(p.Timestamp.Unix(), 10))
	}
	if has(wire.BasicFlagType) {
		add(hdrType, p.Type)
	}
	if has(wire.BasicFlagUserID) {
		add(hdrUserID, p.UserID)
	}
	if has(wire.BasicFlagAppID) {
		add(hdrAppID, p.AppID)
	}
	if has(wire.BasicFlagClusterID) {
		add(hdrClusterID, p.ClusterID)
	}
	return msg, opts, nil
}

// renderValue turns a table value into header bytes and its type letter.
func renderValue(v any) ([]byte, byte, bool) {
	switch v := v.(type) {
	case string:
		return []byte(v), 'S', true
	case []byte:
		return v, 'x', true
	case bool:
		return []byte(strconv.FormatBool(v)), 't', true
	case int8:
		return strconv.AppendInt(nil, int64(v), 10), 'b', true
	case uint8:
		return strconv.AppendUint(nil, uint64(v), 10), 'B', true
	case int16:
		return strconv.AppendInt(nil, int64(v), 10), 's', true
	case uint16:
		return strconv.AppendUint(nil, uint64(v), 10), 'u', true
	case int32:
		return strconv.AppendInt(nil, int64(v), 10), 'I', true
	case uint32:
		return strconv.AppendUint(nil, uint64(v), 10), 'i', true
	case int64:
		return strconv.AppendInt(nil, v, 10), 'l', true
	case float32:
		return strconv.AppendFloat(nil, float64(v), 'g', -1, 32), 'f', true
	case float64:
		return strconv.AppendFloat(nil, v, 'g', -1, 64), 'd', true
	case wire.Decimal:
		return []byte(strconv.FormatUint(uint64(v.Scale), 10) + ":" + strconv.FormatUint(uint64(v.Value), 10)), 'D', true
	case time.Time:
		return strconv.AppendInt(nil, v.Unix(), 10), 'T', true
	case nil:
		return nil, 'V', true
	case wire.Table, []any:
		enc, err := wire.AppendTable(nil, wire.Table{"v": v})
		if err != nil {
			return nil, 0, false
		}
		if _, ok := v.(wire.Table); ok {
			return enc, 'F', true
		}
		return enc, 'A', true
	}
	return nil, 0, false
}

// parseValue is renderValue's inverse; unknown or unparsable values come
// back as long strings.
func parseValue(b []byte, letter string) any {
	s := string(b)
	bad := func() any { return s }
	switch letter {
	case "x":
		return append([]byte(nil), b...)
	case "t":
		return s == "true"
	case "b", "s", "I", "l":
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return bad()
		}
		switch letter {
		case "b":
			return int8(n)
		case "s":
			return int16(n)
		case "I":
			return int32(n)
		}
		return n
	case "B", "u", "i":
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return bad()
		}
		switch letter {
		case "B":
			return uint8(n)
		case "u":
			return uint16(n)
		}
		return uint32(n)
	case "f", "d":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return bad()
		}
		if letter == "f" {
			return float32(f)
		}
		return f
	case "D":
		scale, value, ok := strings.Cut(s, ":")
		sc, err1 := strconv.ParseUint(scale, 10, 8)
		v, err2 := strconv.ParseUint(value, 10, 32)
		if !ok || err1 != nil || err2 != nil {
			return bad()
		}
		return wire.Decimal{Scale: uint8(sc), Value: uint32(v)}
	case "T":
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return bad()
		}
		return time.Unix(n, 0)
	case "V":
		return nil
	case "F", "A":
		t, err := wire.DecodeTable(b)
		if err != nil {
			return bad()
		}
		return t["v"]
	}
	return s
}

// delivery is what a consumer is sent for one record.
type delivery struct {
	props      wire.Properties
	exchange   string
	routingKey string
}

// fromRecord maps a core record back onto AMQP properties; streamName is
// the queue it came from (the routing key of messages that another
// protocol wrote straight into it).
func fromRecord(rec *broker.Record, count int, streamName string) delivery {
	d := delivery{routingKey: streamName}
	p := &d.props
	var types map[string]string
	if v, ok := rec.HeaderValue(hdrTypes); ok {
		json.Unmarshal(v, &types)
	}
	for _, h := range rec.Headers {
		v := string(h.Value)
		switch h.Key {
		case broker.HeaderExchange:
			d.exchange = v
		case broker.HeaderRoutingKey:
			d.routingKey = v
		case broker.HeaderContentType:
			p.ContentType, p.Flags = v, p.Flags|wire.BasicFlagContentType
		case hdrContentEncoding:
			p.ContentEncoding, p.Flags = v, p.Flags|wire.BasicFlagContentEncoding
		case hdrDeliveryMode:
			n, _ := strconv.Atoi(v)
			p.DeliveryMode, p.Flags = uint8(n), p.Flags|wire.BasicFlagDeliveryMode
		case broker.HeaderPriority:
			n, _ := strconv.Atoi(v)
			p.Priority, p.Flags = uint8(n), p.Flags|wire.BasicFlagPriority
		case broker.HeaderCorrelationID:
			p.CorrelationID, p.Flags = v, p.Flags|wire.BasicFlagCorrelationID
		case broker.HeaderReplyTo:
			p.ReplyTo, p.Flags = v, p.Flags|wire.BasicFlagReplyTo
		case hdrExpiration:
			p.Expiration, p.Flags = v, p.Flags|wire.BasicFlagExpiration
		case broker.HeaderMessageID:
			p.MessageID, p.Flags = v, p.Flags|wire.BasicFlagMessageID
		case hdrTimestamp:
			n, _ := strconv.ParseInt(v, 10, 64)
			p.Timestamp, p.Flags = time.Unix(n, 0), p.Flags|wire.BasicFlagTimestamp
		case hdrType:
			p.Type, p.Flags = v, p.Flags|wire.BasicFlagType
		case hdrUserID:
			p.UserID, p.Flags = v, p.Flags|wire.BasicFlagUserID
		case hdrAppID:
			p.AppID, p.Flags = v, p.Flags|wire.BasicFlagAppID
		case hdrClusterID:
			p.ClusterID, p.Flags = v, p.Flags|wire.BasicFlagClusterID
		case broker.HeaderDeaths:
			setHeader(p, "x-death", nil) // filled below, in RabbitMQ's shape
		case hdrTypes:
		default:
			if strings.HasPrefix(h.Key, internalPrefix) {
				continue
			}
			setHeader(p, h.Key, parseValue(h.Value, types[h.Key]))
		}
	}
	if deaths := rec.Deaths(); len(deaths) > 0 {
		renderDeaths(p, deaths)
	}
	if count > 1 {
		// Quorum queues count earlier deliveries that were not acked.
		setHeader(p, "x-delivery-count", int64(count-1))
	}
	return d
}

func setHeader(p *wire.Properties, k string, v any) {
	if p.Headers == nil {
		p.Headers = wire.Table{}
		p.Flags |= wire.BasicFlagHeaders
	}
	p.Headers[k] = v
}

// renderDeaths writes the core's dead-letter history as RabbitMQ's x-death
// array and x-first-death-* headers.
func renderDeaths(p *wire.Properties, deaths []broker.DeathEntry) {
	arr := make([]any, 0, len(deaths))
	for _, d := range deaths {
		keys := make([]any, len(d.RoutingKeys))
		for i, k := range d.RoutingKeys {
			keys[i] = k
		}
		arr = append(arr, wire.Table{
			"count":        d.Count,
			"reason":       d.Reason,
			"queue":        d.Queue,
			"time":         time.Unix(d.Time, 0),
			"exchange":     d.Exchange,
			"routing-keys": keys,
		})
	}
	setHeader(p, "x-death", arr)
	first := deaths[len(deaths)-1]
	setHeader(p, "x-first-death-reason", first.Reason)
	setHeader(p, "x-first-death-queue", first.Queue)
	setHeader(p, "x-first-death-exchange", first.Exchange)
	last := deaths[0]
	setHeader(p, "x-last-death-reason", last.Reason)
	setHeader(p, "x-last-death-queue", last.Queue)
	setHeader(p, "x-last-death-exchange", last.Exchange)
}

// clampUint32 converts a count for a 32-bit reply field.
func clampUint32(n int64) uint32 {
	if n < 0 {
		return 0
	}
	if n > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(n)
}

// refOf names a delivered record for settlement; the count guards against
// settling a later delivery of the same record with a stale tag.
func refOf(d *broker.Delivered) broker.Ref {
	return broker.Ref{Partition: d.Partition, Offset: d.Offset, Count: d.Count}
}

// refsOf names a batch of delivered records for settlement.
func refsOf(ds []broker.Delivered) []broker.Ref {
	refs := make([]broker.Ref, len(ds))
	for i := range ds {
		refs[i] = refOf(&ds[i])
	}
	return refs
}
