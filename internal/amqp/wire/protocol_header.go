package wire

import (
	"fmt"
	"io"
)

// ProtocolHeader is what an AMQP 0-9-1 client sends first: "AMQP", a zero,
// and the version 0-9-1.
const ProtocolHeader = "AMQP\x00\x00\x09\x01"

// CheckProtocolHeader reports whether header, the first 8 bytes a client
// sent, asks for AMQP 0-9-1. If not, the error wraps
// ErrProtocolHeaderMismatch and the server must write ProtocolHeader, so
// that the client learns which version the server speaks, and close the
// connection without sending anything else.
func CheckProtocolHeader(header []byte) error {
	if string(header) == ProtocolHeader {
		return nil
	}
	if len(header) == len(ProtocolHeader) && string(header[:4]) == "AMQP" {
		return fmt.Errorf("%w: client asked for protocol %d version %d-%d-%d",
			ErrProtocolHeaderMismatch, header[4], header[5], header[6], header[7])
	}
	return fmt.Errorf("%w: got %q", ErrProtocolHeaderMismatch, header)
}

// ReadProtocolHeader reads the 8-byte protocol header and checks it with
// CheckProtocolHeader.
func ReadProtocolHeader(r io.Reader) error {
	var header [len(ProtocolHeader)]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return err
	}
	return CheckProtocolHeader(header[:])
}
