package amqp

import (
	"errors"
	"fmt"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
	"github.com/gannet-mq/gannet/internal/broker"
)

// amqpError is a failure answered with connection.close or channel.close:
// hard-error codes close the connection, soft ones the channel.
type amqpError struct {
	code     uint16
	text     string // without the "NOT_FOUND - " prefix
	classID  uint16
	methodID uint16
}

func (e *amqpError) Error() string { return e.replyText() }

func (e *amqpError) replyText() string {
	t := wire.ReplyCodeName(e.code) + " - " + e.text
	if len(t) > 255 {
		t = t[:255]
	}
	return t
}

func (e *amqpError) connectionLevel() bool { return wire.IsConnectionError(e.code) }

func newError(code uint16, format string, args ...any) *amqpError {
	return &amqpError{code: code, text: fmt.Sprintf(format, args...)}
}

// asAMQPError turns a wire decoding error or a core error into the reply
// RabbitMQ would give; m is the method being handled, if any.
func asAMQPError(err error, m wire.Method) *amqpError {
	var ae *amqpError
	var we *wire.Error
	var ie *broker.InvalidArgumentError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &we):
		ae = &amqpError{code: we.Code, text: we.Text}
	case errors.Is(err, broker.ErrNotFound):
		ae = newError(wire.ReplyNotFound, "%s", err.Error())
	case errors.Is(err, broker.ErrLocked):
		ae = newError(wire.ReplyResourceLocked, "cannot obtain exclusive access to locked queue")
	case errors.Is(err, broker.ErrExists):
		ae = newError(wire.ReplyPreconditionFailed, "inequivalent arguments")
	case errors.Is(err, broker.ErrInUse):
		ae = newError(wire.ReplyPreconditionFailed, "in use")
	case errors.Is(err, broker.ErrMessageTooLarge):
		ae = newError(wire.ReplyPreconditionFailed, "message larger than the maximum message size")
	case errors.As(err, &ie):
		ae = newError(wire.ReplyPreconditionFailed, "invalid %s: %s", ie.Argument, ie.Reason)
	case errors.Is(err, broker.ErrClosed):
		ae = newError(wire.ReplyConnectionForced, "broker shutdown")
	default:
		ae = newError(wire.ReplyInternalError, "%v", err)
	}
	if m != nil && ae.classID == 0 {
		c := *ae
		c.classID, c.methodID = m.ClassID(), m.MethodID()
		ae = &c
	}
	return ae
}

func notFound(what, name string) *amqpError {
	return newError(wire.ReplyNotFound, "no %s '%s' in vhost '/'", what, name)
}

func lockedQueue(name string) *amqpError {
	return newError(wire.ReplyResourceLocked,
		"cannot obtain exclusive access to locked queue '%s' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.", name)
}
