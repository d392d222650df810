package loadgen

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
)

// A payload starts with a header that lets the consumer measure latency and
// count duplicates without any shared state with the producer: the intended
// send time, the producer and the producer's sequence number.
//
// Binary layout (20 bytes, big endian): sent unix nanos (8), producer (4),
// sequence (8). SQS bodies must be XML-safe text, so the SQS workload writes
// the same 20 bytes as 40 lowercase hex digits.
const (
	binaryHeaderSize = 20
	textHeaderSize   = 2 * binaryHeaderSize
)

// header is what a payload carries about its own origin.
type header struct {
	SentUnixNano int64
	Producer     uint32
	Seq          uint64
}

var errShortPayload = errors.New("payload shorter than the benchmark header: is something else writing to this queue?")

func putHeader(buf []byte, h header) {
	binary.BigEndian.PutUint64(buf[0:8], uint64(h.SentUnixNano))
	binary.BigEndian.PutUint32(buf[8:12], h.Producer)
	binary.BigEndian.PutUint64(buf[12:20], h.Seq)
}

func readHeader(buf []byte) (header, error) {
	if len(buf) < binaryHeaderSize {
		return header{}, errShortPayload
	}
	return header{
		SentUnixNano: int64(binary.BigEndian.Uint64(buf[0:8])),
		Producer:     binary.BigEndian.Uint32(buf[8:12]),
		Seq:          binary.BigEndian.Uint64(buf[12:20]),
	}, nil
}

// payloadCodec writes and reads headers in one of the two encodings.
type payloadCodec struct{ text bool }

// newPayload returns a payload buffer of the given size with random filler:
// random bytes, or random lowercase letters for text protocols. The filler
// must not compress, or a client that compresses by default (franz-go uses
// snappy) would put a fraction of the bytes on disk that the report counts.
// Buffers are reused only after their message settles, so the messages in
// flight, and hence in one batch, never share a filler.
func (c payloadCodec) newPayload(size int) []byte {
	buf := make([]byte, size)
	for i := range buf {
		r := rand.Uint32()
		if c.text {
			buf[i] = 'a' + byte(r%26)
		} else {
			buf[i] = byte(r)
		}
	}
	return buf
}

// stamp writes h into the front of buf.
func (c payloadCodec) stamp(buf []byte, h header) {
	if !c.text {
		putHeader(buf, h)
		return
	}
	var raw [binaryHeaderSize]byte
	putHeader(raw[:], h)
	hex.Encode(buf[:textHeaderSize], raw[:])
}

// read decodes the header at the front of buf.
func (c payloadCodec) read(buf []byte) (header, error) {
	if !c.text {
		return readHeader(buf)
	}
	if len(buf) < textHeaderSize {
		return header{}, errShortPayload
	}
	var raw [binaryHeaderSize]byte
	if _, err := hex.Decode(raw[:], buf[:textHeaderSize]); err != nil {
		return header{}, errors.New("payload header is not hex: is something else writing to this queue?")
	}
	return readHeader(raw[:])
}
