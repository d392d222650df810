package routing

import "errors"

var (
	// ErrNoExchange: the exchange named in a call (or the destination exchange of
	// an exchange-to-exchange binding) is not declared. AMQP replies 404 not-found.
	ErrNoExchange = errors.New("routing: no such exchange")

	// ErrKindMismatch: an exchange was redeclared with a different kind. AMQP
	// replies 406 precondition-failed.
	ErrKindMismatch = errors.New("routing: exchange exists with a different kind")

	// ErrAlternateMismatch: an exchange was redeclared naming a different
	// alternate exchange. RabbitMQ treats that as an inequivalent argument and
	// replies 406 precondition-failed; use SetAlternate to change it on purpose.
	ErrAlternateMismatch = errors.New("routing: exchange exists with a different alternate exchange")

	// ErrUnknownKind: the exchange kind is not direct, fanout, topic or headers.
	// AMQP replies 503 command-invalid.
	ErrUnknownKind = errors.New("routing: unknown exchange kind")

	// ErrDefaultExchange: the default exchange "" cannot be declared, deleted or
	// bound here; the broker handles it itself.
	ErrDefaultExchange = errors.New("routing: the default exchange is not kept in the routing table")

	// ErrNoDestination: a binding names no queue or exchange.
	ErrNoDestination = errors.New("routing: binding has an empty destination")

	// ErrKeyTooLong: a topic binding key is longer than an AMQP short string
	// (255 bytes). The limit also bounds the work one publish can cost.
	ErrKeyTooLong = errors.New("routing: topic binding key longer than 255 bytes")

	// ErrInvalidMatch: a headers binding has an x-match argument other than all,
	// any, all-with-x or any-with-x. AMQP replies 406 precondition-failed.
	ErrInvalidMatch = errors.New("routing: x-match must be all, any, all-with-x or any-with-x")
)
