package wire

import (
	"errors"
	"fmt"
)

// Error is a decoding failure that the server answers by closing the
// connection with Code (a hard-error reply code such as ReplyFrameError) and
// a reply text built from Text. Err is the sentinel describing the kind of
// failure, for errors.Is.
type Error struct {
	Code uint16
	Text string
	Err  error
}

func (e *Error) Error() string { return "wire: " + e.ReplyText() }

// Unwrap returns the sentinel, so that errors.Is(err, ErrFrameTooLarge) works.
func (e *Error) Unwrap() error { return e.Err }

// ReplyText is the text for connection.close, in RabbitMQ's form
// "FRAME_ERROR - frame of 200000 bytes exceeds frame-max 131072".
func (e *Error) ReplyText() string {
	text := ReplyCodeName(e.Code) + " - " + e.Text
	// A reply text is a short string; a longer one could not be sent at all.
	if len(text) > maxShortString {
		text = text[:maxShortString]
	}
	return text
}

// Decoding failures, found inside *Error values with errors.Is.
var (
	ErrFrameTooLarge          = errors.New("wire: frame larger than frame-max")
	ErrBadFrameEnd            = errors.New("wire: frame does not end with 0xCE")
	ErrUnknownFrameType       = errors.New("wire: unknown frame type")
	ErrBadHeartbeat           = errors.New("wire: heartbeat frame on a channel other than 0")
	ErrTruncated              = errors.New("wire: payload ends before its last field")
	ErrTrailingBytes          = errors.New("wire: bytes left after the last field")
	ErrUnknownMethod          = errors.New("wire: unknown class or method id")
	ErrUnknownFieldType       = errors.New("wire: unknown field value type")
	ErrTableTooDeep           = errors.New("wire: field tables nested too deeply")
	ErrUnknownProperty        = errors.New("wire: content header flags a property that does not exist")
	ErrNoContentClass         = errors.New("wire: content header for a class without content")
	ErrProtocolHeaderMismatch = errors.New("wire: not an AMQP 0-9-1 protocol header")
)

// Encoding failures. They come from values the server built, so they are
// plain errors rather than *Error.
var (
	ErrShortStringTooLong = errors.New("wire: short string longer than 255 bytes")
	ErrLongStringTooLong  = errors.New("wire: long string or table longer than 4 GiB")
	ErrUnsupportedValue   = errors.New("wire: field table value of unsupported Go type")
)

func frameError(sentinel error, format string, args ...any) *Error {
	return &Error{Code: ReplyFrameError, Text: fmt.Sprintf(format, args...), Err: sentinel}
}

func syntaxError(sentinel error, format string, args ...any) *Error {
	return &Error{Code: ReplySyntaxError, Text: fmt.Sprintf(format, args...), Err: sentinel}
}

// inMethod prefixes a decoding error with the name of the method or
// structure being decoded, so that the reply text tells the client where.
func inMethod(name string, err error) error {
	var werr *Error
	if errors.As(err, &werr) {
		return &Error{Code: werr.Code, Text: name + ": " + werr.Text, Err: werr.Err}
	}
	return err
}
