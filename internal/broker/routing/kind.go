package routing

import "fmt"

// Kind is an exchange type: how the exchange compares a message with its
// bindings.
type Kind string

const (
	// Direct routes to bindings whose key equals the routing key.
	Direct Kind = "direct"
	// Fanout routes to every binding and ignores the routing key.
	Fanout Kind = "fanout"
	// Topic routes to bindings whose key is a pattern of dot-separated words
	// matching the routing key; "*" stands for one word and "#" for zero or more.
	Topic Kind = "topic"
	// Headers routes on message headers compared with binding arguments and
	// ignores the routing key.
	Headers Kind = "headers"
)

// ParseKind returns the Kind named s. Names are case sensitive, as in RabbitMQ.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case Direct, Fanout, Topic, Headers:
		return k, nil
	}
	return "", fmt.Errorf("%w %q", ErrUnknownKind, s)
}
