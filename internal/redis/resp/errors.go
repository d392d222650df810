package resp

import "errors"

// Sentinel errors identify each kind of malformed request. ReadCommand wraps
// them in a *ProtocolError that also carries Redis' exact reply text, so match
// the kind with errors.Is and reply with (*ProtocolError).Reply.
var (
	// ErrInvalidMultibulkLength: the "*N" count is not a number or exceeds Limits.MaxArgs.
	ErrInvalidMultibulkLength = errors.New("resp: invalid multibulk length")
	// ErrInvalidBulkLength: the "$N" length is not a number, is negative or exceeds Limits.MaxBulkLen.
	ErrInvalidBulkLength = errors.New("resp: invalid bulk length")
	// ErrExpectedBulk: an element of a multibulk request does not start with '$'.
	ErrExpectedBulk = errors.New("resp: expected '$'")
	// ErrUnbalancedQuotes: an inline request has an unterminated quote or a
	// closing quote that is not followed by a space.
	ErrUnbalancedQuotes = errors.New("resp: unbalanced quotes in request")
	// ErrInlineTooBig: an inline request line is longer than Limits.MaxInlineLen.
	ErrInlineTooBig = errors.New("resp: too big inline request")
	// ErrMultibulkCountTooBig: the "*N" line is longer than Limits.MaxInlineLen.
	ErrMultibulkCountTooBig = errors.New("resp: too big mbulk count string")
	// ErrBulkCountTooBig: a "$N" line is longer than Limits.MaxInlineLen.
	ErrBulkCountTooBig = errors.New("resp: too big bulk count string")
	// ErrUnterminatedBulk: bulk data is not followed by CRLF. redis-server
	// skips those two bytes unchecked; Gannet rejects them because accepting
	// them silently would desynchronise the stream.
	ErrUnterminatedBulk = errors.New("resp: bulk data not terminated by CRLF")
)

// ErrQueryBufferLimit reports a command larger than Limits.MaxCommandSize.
// It is not a *ProtocolError: like redis-server reaching
// client-query-buffer-limit, the server should close the connection without
// a reply.
var ErrQueryBufferLimit = errors.New("resp: query buffer limit reached")

// ProtocolError is a malformed request. The server answers it with Reply()
// as an error line and then closes the connection, as Redis does: after a
// framing error the rest of the stream cannot be trusted.
type ProtocolError struct {
	// Kind is one of the sentinel errors above.
	Kind error
	// Detail is Redis' text after "Protocol error: ", e.g. "invalid bulk length"
	// or "expected '$', got 'x'".
	Detail string
}

func (e *ProtocolError) Error() string { return "resp: Protocol error: " + e.Detail }

func (e *ProtocolError) Unwrap() error { return e.Kind }

// Reply is the error line redis-server sends for this error, without the
// leading '-' and trailing CRLF; pass it to AppendError.
func (e *ProtocolError) Reply() string { return "ERR Protocol error: " + e.Detail }

func protocolError(kind error) *ProtocolError {
	// The sentinel's text after "resp: " is Redis' wording in every case but
	// ErrExpectedBulk, whose detail names the offending byte.
	return &ProtocolError{Kind: kind, Detail: kind.Error()[len("resp: "):]}
}
