package wire

import (
	"encoding/binary"
	"strconv"
)

// Method is an AMQP method: one of the generated types in methods_gen.go,
// always used as a pointer (*BasicPublish). The server switches on the
// concrete type after decoding.
type Method interface {
	ClassID() uint16
	MethodID() uint16
	// Name is the dotted name used in the specification, "basic.publish".
	Name() string
	// AppendArgs appends the method's arguments, without class and method
	// ids, to dst.
	AppendArgs(dst []byte) ([]byte, error)
	// DecodeArgs overwrites the method with arguments decoded from args,
	// which must hold exactly the arguments. Reusing one value per channel
	// keeps the hot path (basic.publish) free of allocations but for the
	// strings it decodes.
	DecodeArgs(args []byte) error
}

// SplitMethodPayload splits a method frame's payload into class id, method
// id and arguments, for callers that decode into a value of their own with
// DecodeArgs.
func SplitMethodPayload(payload []byte) (classID, methodID uint16, args []byte, err error) {
	if len(payload) < 4 {
		return 0, 0, nil, frameError(ErrTruncated, "method frame of %d bytes has no class and method id", len(payload))
	}
	return binary.BigEndian.Uint16(payload), binary.BigEndian.Uint16(payload[2:]), payload[4:], nil
}

// ParseMethodFrame decodes the payload of a method frame.
func ParseMethodFrame(payload []byte) (Method, error) {
	classID, methodID, args, err := SplitMethodPayload(payload)
	if err != nil {
		return nil, err
	}
	return DecodeMethod(classID, methodID, args)
}

// DecodeMethod decodes the arguments of the method with the given ids. An
// unknown method is an *Error with ReplyNotImplemented; malformed arguments
// are one with ReplyFrameError or ReplySyntaxError.
func DecodeMethod(classID, methodID uint16, args []byte) (Method, error) {
	m := NewMethod(classID, methodID)
	if m == nil {
		return nil, &Error{Code: ReplyNotImplemented, Err: ErrUnknownMethod,
			Text: "unknown method " + classLabel(classID) + "." + strconv.Itoa(int(methodID))}
	}
	if err := m.DecodeArgs(args); err != nil {
		return nil, err
	}
	return m, nil
}

func classLabel(classID uint16) string { return strconv.Itoa(int(classID)) }
