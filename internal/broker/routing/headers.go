package routing

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/gannet-mq/gannet/internal/batch"
)

// Header is one message header as Route sees it. Values are compared as bytes,
// so the broker must encode a header value and a binding argument the same way
// when it means them to be equal (for AMQP field tables: the same encoding of
// type and value). When a key appears more than once the first one counts.
// It is the stored record's header type, so the broker routes a message's
// headers as they are, without converting them on every publish.
type Header = batch.Header

// matchArg is the binding argument that chooses how a headers binding matches.
// Its value is the plain text all, any, all-with-x or any-with-x.
const matchArg = "x-match"

// headerPattern is a headers binding prepared for matching: the x-match mode
// decided and the arguments that take part listed once, so Route does not
// re-read the argument map for every message.
type headerPattern struct {
	any        bool // x-match any / any-with-x: one condition suffices
	conditions []headerCondition
}

type headerCondition struct {
	key string
	// value nil means the header only has to be present (AMQP void).
	value []byte
}

// parseHeaderPattern reads a headers binding's arguments with RabbitMQ's
// rules: x-match defaults to all; arguments named x-... are left out unless the
// mode ends in -with-x; x-match itself never takes part.
func parseHeaderPattern(args map[string][]byte) (headerPattern, error) {
	var p headerPattern
	withX := false
	if mode, ok := args[matchArg]; ok {
		switch string(mode) {
		case "all":
		case "any":
			p.any = true
		case "all-with-x":
			withX = true
		case "any-with-x":
			p.any, withX = true, true
		default:
			if mode == nil {
				return p, fmt.Errorf("%w: got no value", ErrInvalidMatch)
			}
			return p, fmt.Errorf("%w: got %q", ErrInvalidMatch, mode)
		}
	}
	for k, v := range args {
		if k == matchArg || (!withX && strings.HasPrefix(k, "x-")) {
			continue
		}
		p.conditions = append(p.conditions, headerCondition{key: k, value: bytes.Clone(v)})
	}
	// Sorted only so that work and results never depend on map order.
	slices.SortFunc(p.conditions, func(a, b headerCondition) int { return cmp.Compare(a.key, b.key) })
	return p, nil
}

// matches reports whether a message with these headers satisfies the pattern.
// With all, every condition must hold (so no conditions match every message);
// with any, at least one must (so no conditions match nothing), as in RabbitMQ.
func (p *headerPattern) matches(headers []Header) bool {
	for i := range p.conditions {
		if p.conditions[i].holds(headers) == p.any {
			return p.any
		}
	}
	return !p.any
}

func (c *headerCondition) holds(headers []Header) bool {
	for i := range headers {
		if headers[i].Key == c.key {
			return c.value == nil || bytes.Equal(headers[i].Value, c.value)
		}
	}
	return false
}
