package broker

import (
	"encoding/binary"
	"errors"
)

// A group delta is one journal record holding several operations on one
// group partition, in the order they happened:
//
//	uvarint group id, uvarint partition, then repeated:
//	  'D' deliver: uvarint offset, uvarint count, varint deadline ms (0 none),
//	      varint delivered-at ms, byte flags (1 = persistent), uvarint len + consumer
//	  'A' settle:  uvarint offset
//	  'R' release: uvarint offset, uvarint count, varint not-before ms (0 now)
//	  'N' cursor:  uvarint next offset
//	  'P' purge:   uvarint from, uvarint to: settle every offset in
//	      [from, to) that is not pending
//	  'B' rewind:  uvarint offset: the cursor moved back (below the floor,
//	      or below records settled past a pending one); nothing from offset
//	      on is settled any more
const (
	opDeliver byte = 'D'
	opSettle  byte = 'A'
	opRelease byte = 'R'
	opCursor  byte = 'N'
	opPurge   byte = 'P'
	opRewind  byte = 'B'
)

var errBadDelta = errors.New("broker: malformed group delta")

type deltaOp struct {
	op          byte
	offset      int64
	count       int32
	deadline    int64 // ms
	deliveredAt int64 // ms
	persistent  bool
	consumer    string
	to          int64 // opPurge: end of the purged range
}

func appendDeltaHeader(dst []byte, groupID uint32, partition int32) []byte {
	dst = binary.AppendUvarint(dst, uint64(groupID))
	return binary.AppendUvarint(dst, uint64(partition))
}

func appendDeltaOp(dst []byte, o deltaOp) []byte {
	dst = append(dst, o.op)
	dst = binary.AppendUvarint(dst, uint64(o.offset))
	switch o.op {
	case opDeliver:
		dst = binary.AppendUvarint(dst, uint64(o.count))
		dst = binary.AppendVarint(dst, o.deadline)
		dst = binary.AppendVarint(dst, o.deliveredAt)
		flags := byte(0)
		if o.persistent {
			flags = 1
		}
		dst = append(dst, flags)
		dst = binary.AppendUvarint(dst, uint64(len(o.consumer)))
		dst = append(dst, o.consumer...)
	case opRelease:
		dst = binary.AppendUvarint(dst, uint64(o.count))
		dst = binary.AppendVarint(dst, o.deadline)
	case opPurge:
		dst = binary.AppendUvarint(dst, uint64(o.to))
	}
	return dst
}

// decodeDelta calls fn for each operation of a delta record.
func decodeDelta(b []byte, fn func(groupID uint32, partition int32, o deltaOp)) error {
	r := deltaReader{b: b}
	gid := r.uvarint()
	part := r.uvarint()
	if r.err != nil || gid > 1<<32-1 || part > 1<<31-1 {
		return errBadDelta
	}
	for len(r.b) > 0 && r.err == nil {
		o := deltaOp{op: r.byte1()}
		o.offset = int64(r.uvarint())
		switch o.op {
		case opDeliver:
			o.count = int32(r.uvarint())
			o.deadline = r.varint()
			o.deliveredAt = r.varint()
			o.persistent = r.byte1() == 1
			n := r.uvarint()
			if n > uint64(len(r.b)) {
				return errBadDelta
			}
			o.consumer = string(r.b[:n])
			r.b = r.b[n:]
		case opRelease:
			o.count = int32(r.uvarint())
			o.deadline = r.varint()
		case opPurge:
			o.to = int64(r.uvarint())
		case opSettle, opCursor, opRewind:
		default:
			return errBadDelta
		}
		if r.err != nil {
			return errBadDelta
		}
		fn(uint32(gid), int32(part), o)
	}
	return r.err
}

type deltaReader struct {
	b   []byte
	err error
}

func (r *deltaReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadDelta
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *deltaReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errBadDelta
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *deltaReader) byte1() byte {
	if len(r.b) == 0 {
		r.err = errBadDelta
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}
