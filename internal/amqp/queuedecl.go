package amqp

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
	"github.com/gannet-mq/gannet/internal/broker"
)

// Attribute keys under which a queue's AMQP declaration is stored in the
// core, so that a redeclaration can be checked the way RabbitMQ does.
const (
	attrDeclared = "amqp.declared"
	attrArg      = "amqp.arg."
)

// checkedArgs are the arguments RabbitMQ compares on redeclaration.
var checkedArgs = map[string]bool{
	"x-message-ttl": true, "x-expires": true, "x-max-length": true, "x-max-length-bytes": true,
	"x-overflow": true, "x-dead-letter-exchange": true, "x-dead-letter-routing-key": true,
	"x-delivery-limit": true, "x-single-active-consumer": true, "x-max-priority": true,
	"x-queue-type": true, "x-max-age": true,
}

func (ch *channel) onQueueDeclare(m *wire.QueueDeclare) error {
	b := ch.c.s.b
	name := m.Queue
	if name == "" {
		if m.Passive {
			return notFound("queue", name)
		}
		name = randomName("amq.gen-")
	} else if strings.HasPrefix(name, "amq.") && !m.Passive {
		return newError(wire.ReplyAccessRefused, "queue name '%s' contains reserved prefix 'amq.*'", name)
	}
	if m.Passive {
		info, err := b.Stream(name)
		if err != nil {
			return notFound("queue", name)
		}
		if err := ch.c.checkOwner(info); err != nil {
			return err
		}
		b.DeclareStream(name, info.Config) // a declaration is use (x-expires)
		return ch.declareOK(m.NoWait, name)
	}
	cfg, err := queueConfig(name, m)
	if err != nil {
		return err
	}
	if m.Exclusive {
		cfg.Owner = ch.c.id
	}
	for attempt := 0; ; attempt++ {
		if info, err := b.Stream(name); err == nil {
			if err := ch.checkEquivalent(name, info.Config, cfg, m); err != nil {
				return err
			}
			b.DeclareStream(name, info.Config) // a redeclaration is use (x-expires)
			return ch.declareOK(m.NoWait, name)
		}
		_, _, err := b.DeclareStream(name, cfg)
		if err == nil {
			return ch.declareOK(m.NoWait, name)
		}
		if errors.Is(err, broker.ErrLocked) {
			return lockedQueue(name)
		}
		if !errors.Is(err, broker.ErrExists) || attempt > 2 {
			return err
		}
		// Declared meanwhile by someone else: compare with theirs.
	}
}

func (ch *channel) declareOK(noWait bool, name string) error {
	ch.lastQueue = name
	if !noWait {
		ch.syncPublishes()
	}
	ready, consumers := ch.c.s.queueCounts(name)
	return ch.replyUnlessNoWait(noWait, &wire.QueueDeclareOK{Queue: name, MessageCount: ready, ConsumerCount: consumers})
}

// checkEquivalent compares a redeclaration with the queue as it exists.
func (ch *channel) checkEquivalent(name string, cur, want broker.StreamConfig, m *wire.QueueDeclare) error {
	if cur.Owner != want.Owner {
		return lockedQueue(name)
	}
	ineq := func(arg, got, have string) error {
		return newError(wire.ReplyPreconditionFailed,
			"inequivalent arg '%s' for queue '%s' in vhost '/': received %s but current is %s", arg, name, got, have)
	}
	if cur.Durable != want.Durable {
		return ineq("durable", "'"+boolText(want.Durable)+"'", "'"+boolText(cur.Durable)+"'")
	}
	if cur.AutoDelete != want.AutoDelete {
		return ineq("auto_delete", "'"+boolText(want.AutoDelete)+"'", "'"+boolText(cur.AutoDelete)+"'")
	}
	if cur.Attributes[attrDeclared] == "" {
		return nil // declared by another protocol: its settings stand
	}
	keys := make(map[string]bool)
	for k := range cur.Attributes {
		if strings.HasPrefix(k, attrArg) {
			keys[k] = true
		}
	}
	for k := range want.Attributes {
		if strings.HasPrefix(k, attrArg) {
			keys[k] = true
		}
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		got, gotOK := want.Attributes[k]
		have, haveOK := cur.Attributes[k]
		if got == have && gotOK == haveOK {
			continue
		}
		arg := strings.TrimPrefix(k, attrArg)
		if arg == "x-queue-type" && ((got == "classic" && !haveOK) || (!gotOK && have == "classic")) {
			continue // classic is the default
		}
		return ineq(arg, quoteOrNone(got, gotOK), quoteOrNone(have, haveOK))
	}
	return nil
}

func quoteOrNone(v string, ok bool) string {
	if !ok {
		return "none"
	}
	return "the value '" + v + "'"
}

// queueConfig maps queue.declare and its arguments onto a stream config.
func queueConfig(name string, m *wire.QueueDeclare) (broker.StreamConfig, error) {
	cfg := broker.StreamConfig{Kind: broker.KindQueue, Durable: m.Durable, AutoDelete: m.AutoDelete,
		Attributes: map[string]string{attrDeclared: "1"}}
	bad := func(arg string, format string, args ...any) error {
		return newError(wire.ReplyPreconditionFailed, "invalid arg '%s' for queue '%s' in vhost '/': %s", arg, name, fmt.Sprintf(format, args...))
	}
	args := m.Arguments
	var dlx *broker.DeadLetterTarget
	queueType := "classic"
	for k, v := range args {
		text, _, ok := renderValue(v)
		if checkedArgs[k] && ok {
			cfg.Attributes[attrArg+k] = string(text)
		}
		switch k {
		case "x-message-ttl":
			n, err := expiry(v)
			if err != nil {
				return cfg, bad(k, "%v", err)
			}
			cfg.Group.MessageTTL = max(time.Duration(n)*time.Millisecond, time.Millisecond)
		case "x-max-length":
			n, err := nonNegative(v)
			if err != nil {
				return cfg, bad(k, "%v", err)
			}
			cfg.MaxLength = n
		case "x-overflow":
			s, ok := v.(string)
			if !ok {
				return cfg, bad(k, "{unacceptable_type,%s}", tableTypeName(v))
			}
			switch s {
			case "drop-head":
				cfg.Overflow = broker.OverflowDropHead
			case "reject-publish":
				cfg.Overflow = broker.OverflowRejectPublish
			case "reject-publish-dlx":
				cfg.Overflow = broker.OverflowRejectPublishDLX
			default:
				return cfg, bad(k, "invalid_overflow")
			}
		case "x-dead-letter-exchange":
			s, ok := v.(string)
			if !ok {
				return cfg, bad(k, "{unacceptable_type,%s}", tableTypeName(v))
			}
			if dlx == nil {
				dlx = &broker.DeadLetterTarget{}
			}
			dlx.Exchange = s
		case "x-dead-letter-routing-key":
			s, ok := v.(string)
			if !ok {
				return cfg, bad(k, "{unacceptable_type,%s}", tableTypeName(v))
			}
			if dlx == nil {
				dlx = &broker.DeadLetterTarget{}
			}
			dlx.RoutingKey = s
		case "x-delivery-limit":
			n, err := nonNegative(v)
			if err != nil {
				return cfg, bad(k, "%v", err)
			}
			// RabbitMQ allows this many returns and dead-letters at the next;
			// the core counts deliveries.
			cfg.Group.DeliveryLimit = int(n) + 1
		case "x-single-active-consumer":
			b, ok := v.(bool)
			if !ok {
				return cfg, bad(k, "{unacceptable_type,%s}", tableTypeName(v))
			}
			cfg.Group.SingleActiveConsumer = b
		case "x-queue-type":
			s, ok := v.(string)
			if !ok {
				return cfg, bad(k, "{unacceptable_type,%s}", tableTypeName(v))
			}
			switch s {
			case "classic", "quorum", "stream":
				queueType = s
			default:
				return cfg, bad(k, "unsupported queue type '%s'", s)
			}
		case "x-max-age":
			s, ok := v.(string)
			if !ok {
				return cfg, bad(k, "{unacceptable_type,%s}", tableTypeName(v))
			}
			d, err := parseMaxAge(s)
			if err != nil {
				return cfg, bad(k, "%v", err)
			}
			cfg.RetentionAge = d
		case "x-expires":
			n, err := expiry(v)
			if err == nil && n == 0 {
				err = errors.New("{value_zero,0}")
			}
			if err != nil {
				return cfg, bad(k, "%v", err)
			}
			cfg.Expires = time.Duration(n) * time.Millisecond
		case "x-max-priority":
			n, err := nonNegative(v)
			if err == nil && n > broker.MaxPriorityLevel {
				err = fmt.Errorf("{max_value_exceeded,%d}", n)
			}
			if err != nil {
				return cfg, bad(k, "%v", err)
			}
			cfg.MaxPriority = int(n)
		case "x-max-length-bytes":
			n, err := nonNegative(v)
			if err != nil {
				return cfg, bad(k, "%v", err)
			}
			cfg.MaxLengthBytes = n // retention for streams, see below
		}
	}
	if dlx != nil {
		if _, hasExchange := args["x-dead-letter-exchange"]; !hasExchange {
			return cfg, bad("x-dead-letter-routing-key", "routing_key_but_no_dlx_defined")
		}
		cfg.Group.DeadLetter = dlx
	}
	switch queueType {
	case "quorum":
		if !m.Durable || m.Exclusive || m.AutoDelete {
			return cfg, newError(wire.ReplyPreconditionFailed,
				"invalid property 'non-durable, exclusive or auto-delete' for queue '%s' in vhost '/'", name)
		}
	case "stream":
		if !m.Durable || m.Exclusive || m.AutoDelete {
			return cfg, newError(wire.ReplyPreconditionFailed,
				"invalid property 'non-durable, exclusive or auto-delete' for queue '%s' in vhost '/'", name)
		}
		if cfg.MaxPriority > 0 {
			return cfg, newError(wire.ReplyPreconditionFailed, "invalid arg 'x-max-priority' for stream queue '%s' in vhost '/'", name)
		}
		cfg.Kind = broker.KindTopic
		cfg.Group = broker.GroupConfig{}
		if cfg.MaxLengthBytes > 0 {
			cfg.RetentionBytes, cfg.MaxLengthBytes = cfg.MaxLengthBytes, 0
		}
	}
	return cfg, nil
}

// nonNegative reads an integer argument that must not be negative.
func nonNegative(v any) (int64, error) {
	n, err := intArg(v)
	if err == nil && n < 0 {
		err = fmt.Errorf("{value_negative,%d}", n)
	}
	return n, err
}

// maxExpiry is the longest x-message-ttl and x-expires RabbitMQ takes, in
// milliseconds (its Erlang timers' limit).
const maxExpiry = 4294967295

// expiry reads a time in milliseconds as RabbitMQ's check_expiry does.
func expiry(v any) (int64, error) {
	n, err := nonNegative(v)
	if err == nil && n > maxExpiry {
		err = fmt.Errorf("{value_too_big,%d}", n)
	}
	return n, err
}

// intArg reads an integer argument of any integer field type, as
// RabbitMQ's check_int_arg accepts it; another type is refused with the
// reason RabbitMQ gives, which names the field type.
func intArg(v any) (int64, error) {
	switch n := v.(type) {
	case int8:
		return int64(n), nil
	case uint8:
		return int64(n), nil
	case int16:
		return int64(n), nil
	case uint16:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case uint32:
		return int64(n), nil
	case int64:
		return n, nil
	}
	return 0, fmt.Errorf("{unacceptable_type,%s}", tableTypeName(v))
}

// tableTypeName names a table value's type as RabbitMQ's error messages do.
func tableTypeName(v any) string {
	_, letter, _ := renderValue(v)
	switch letter {
	case 'b':
		return "byte"
	case 'B':
		return "unsignedbyte"
	case 's':
		return "short"
	case 'u':
		return "unsignedshort"
	case 'I':
		return "signedint"
	case 'i':
		return "unsignedint"
	case 'l':
		return "long"
	case 'S':
		return "longstr"
	case 'x':
		return "binary"
	case 't':
		return "bool"
	case 'f':
		return "float"
	case 'd':
		return "double"
	case 'D':
		return "decimal"
	case 'T':
		return "timestamp"
	case 'F':
		return "table"
	case 'A':
		return "array"
	case 'V':
		return "void"
	}
	return "unknown"
}

// parseMaxAge reads a stream's x-max-age: a positive number and a unit of
// Y, M, D, h, m or s.
func parseMaxAge(s string) (time.Duration, error) {
	invalid := errors.New("invalid_max_age")
	if len(s) < 2 {
		return 0, invalid
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n <= 0 {
		return 0, invalid
	}
	unit := map[byte]time.Duration{'Y': 365 * 24 * time.Hour, 'M': 30 * 24 * time.Hour, 'D': 24 * time.Hour,
		'h': time.Hour, 'm': time.Minute, 's': time.Second}[s[len(s)-1]]
	if unit == 0 {
		return 0, invalid
	}
	return time.Duration(n) * unit, nil
}
