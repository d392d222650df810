// Package resp is the wire codec of Gannet's Redis front-end: it reads client
// commands in RESP (multibulk arrays of bulk strings, or Redis' inline form)
// and encodes server replies in RESP2 or RESP3.
//
// The package does no I/O policy of its own. A connection handler owns one
// Reader, appends replies to its own buffer with the Append functions in the
// protocol version chosen after HELLO, and turns a *ProtocolError into the
// Redis reply line plus a closed connection, exactly as redis-server does
// when a client sends malformed input.
//
// Hostile input is bounded by Limits: no length or count read from the wire is
// used to size an allocation; buffers grow only as bytes actually arrive.
package resp
