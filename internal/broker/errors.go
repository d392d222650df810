package broker

import (
	"errors"
	"fmt"
)

// InvalidArgumentError reports a bad argument or setting.
type InvalidArgumentError struct {
	Argument string
	Reason   string
}

func (e *InvalidArgumentError) Error() string {
	return fmt.Sprintf("broker: invalid %s: %s", e.Argument, e.Reason)
}

// Sentinel errors; front-ends map them onto their protocol's codes.
var (
	ErrNotFound         = errors.New("broker: not found")
	ErrExists           = errors.New("broker: already exists with a different configuration")
	ErrInUse            = errors.New("broker: in use")
	ErrLocked           = errors.New("broker: owned by another connection")
	ErrMessageTooLarge  = errors.New("broker: message larger than the maximum message size")
	ErrQueueFull        = errors.New("broker: queue is full and refuses new messages")
	ErrUnknownDelivery  = errors.New("broker: unknown delivery (already settled or never delivered)")
	ErrClosed           = errors.New("broker: closed")
	ErrNoSuchPartition  = errors.New("broker: no such partition")
	ErrOffsetOutOfRange = errors.New("broker: offset out of range")
	ErrInternalExchange = errors.New("broker: exchange is internal")
)

// NotFoundError names what was not found; it matches ErrNotFound.
type NotFoundError struct{ What, Name string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("broker: no %s %q", e.What, e.Name) }

func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// InternalExchangeError refuses a direct publish to an internal exchange,
// which only bindings from other exchanges may feed; it matches
// ErrInternalExchange.
type InternalExchangeError struct{ Exchange string }

func (e *InternalExchangeError) Error() string {
	return fmt.Sprintf("broker: exchange %q is internal and takes no direct publishes", e.Exchange)
}

func (e *InternalExchangeError) Is(target error) bool { return target == ErrInternalExchange }
