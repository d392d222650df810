package sqs

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/sqs/wire"
)

// A receipt handle names one delivery: the queue (by name and creation
// time, so a handle outlives no queue of the same name), the partition, the
// offset and the delivery count, which makes a handle from an earlier
// receive unable to settle a later delivery. A CRC guards against handles
// that were never issued; a handle naming a partition the queue does not
// have is invalid too, so that no handle reaches the core unchecked.
// Handles are URL-safe base64.
type receipt struct {
	queue     string
	createdMs int64
	ref       broker.Ref
}

const receiptVersion = 1

func (r receipt) encode() string {
	buf := make([]byte, 0, 40+len(r.queue))
	buf = append(buf, receiptVersion)
	buf = binary.AppendUvarint(buf, uint64(r.createdMs))
	buf = binary.AppendUvarint(buf, uint64(r.ref.Partition))
	buf = binary.AppendUvarint(buf, uint64(r.ref.Offset))
	buf = binary.AppendUvarint(buf, uint64(r.ref.Count))
	buf = append(buf, r.queue...)
	buf = binary.BigEndian.AppendUint32(buf, crc32.ChecksumIEEE(buf))
	return base64.RawURLEncoding.EncodeToString(buf)
}

func invalidReceipt(handle string) *wire.Error {
	if len(handle) > 64 {
		handle = handle[:64] + "..."
	}
	return wire.Errorf(wire.KindReceiptHandleInvalid, "The input receipt handle \"%s\" is not a valid receipt handle.", handle)
}

// decodeReceipt checks a handle and that it belongs to queue q.
func decodeReceipt(handle string, q *queue) (broker.Ref, *wire.Error) {
	if handle == "" {
		return broker.Ref{}, wire.Missing("ReceiptHandle")
	}
	if len(handle) > 1024 {
		return broker.Ref{}, invalidReceipt(handle)
	}
	raw, err := base64.RawURLEncoding.DecodeString(handle)
	if err != nil || len(raw) < 6 || raw[0] != receiptVersion {
		return broker.Ref{}, invalidReceipt(handle)
	}
	body, sum := raw[:len(raw)-4], raw[len(raw)-4:]
	if crc32.ChecksumIEEE(body) != binary.BigEndian.Uint32(sum) {
		return broker.Ref{}, invalidReceipt(handle)
	}
	rest := body[1:]
	var fields [4]uint64
	for i := range fields {
		v, n := binary.Uvarint(rest)
		if n <= 0 {
			return broker.Ref{}, invalidReceipt(handle)
		}
		fields[i], rest = v, rest[n:]
	}
	partitions := uint64(max(q.cfg.Partitions, 1))
	if string(rest) != q.name || int64(fields[0]) != q.createdMs || fields[1] >= partitions || fields[2] > 1<<62 || fields[3] > 1<<31 || fields[3] == 0 {
		return broker.Ref{}, invalidReceipt(handle)
	}
	return broker.Ref{Partition: int32(fields[1]), Offset: int64(fields[2]), Count: int(fields[3])}, nil
}
