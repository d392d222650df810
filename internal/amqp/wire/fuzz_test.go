package wire_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

// requireWireError fails unless err is nil or an *Error with a hard-error
// reply code: every decoding failure must tell the server how to close.
func requireWireError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var werr *wire.Error
	if !errors.As(err, &werr) || !wire.IsConnectionError(werr.Code) {
		t.Fatalf("error %v is not a *wire.Error with a connection reply code", err)
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add(wire.AppendHeartbeat(nil), uint32(0))
	f.Add(wire.AppendFrame(nil, wire.FrameBody, 1, []byte("body")), uint32(4096))
	f.Add([]byte{1, 0, 0, 0xFF, 0xFF, 0xFF, 0xF0}, uint32(131072))
	f.Fuzz(func(t *testing.T, input []byte, maxFrame uint32) {
		r := bufioReader(input)
		for {
			fr, err := wire.ReadFrame(r, maxFrame)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					requireWireError(t, err)
				}
				return
			}
			if len(fr.Payload)+wire.FrameOverhead > max(int(maxFrame), wire.FrameMinSize) {
				t.Fatalf("accepted a %d-byte payload under frame-max %d", len(fr.Payload), maxFrame)
			}
			again := wire.AppendFrame(nil, fr.Type, fr.Channel, fr.Payload)
			if back, err := wire.ReadFrame(bufioReader(again), maxFrame); err != nil || !bytes.Equal(back.Payload, fr.Payload) {
				t.Fatalf("re-encoded frame does not read back: %v", err)
			}
		}
	})
}

func FuzzDecodeMethod(f *testing.F) {
	for _, m := range allMethods(f) {
		fillFields(m, 0)
		args, err := m.AppendArgs(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(m.ClassID(), m.MethodID(), args)
	}
	f.Fuzz(func(t *testing.T, classID, methodID uint16, args []byte) {
		m, err := wire.DecodeMethod(classID, methodID, args)
		requireWireError(t, err)
		if err != nil {
			return
		}
		// Encoding what was decoded and decoding again must be stable. The
		// bytes may differ from the input (table keys get sorted, unused
		// bits dropped), so compare two encodings.
		first, err := m.AppendArgs(nil)
		if err != nil {
			t.Fatalf("%s: re-encode: %v", m.Name(), err)
		}
		m2, err := wire.DecodeMethod(classID, methodID, first)
		if err != nil {
			t.Fatalf("%s: decode of re-encoding: %v", m.Name(), err)
		}
		second, err := m2.AppendArgs(nil)
		if err != nil || !bytes.Equal(first, second) {
			t.Fatalf("%s: encoding unstable: % x vs % x (%v)", m.Name(), first, second, err)
		}
	})
}

func FuzzTable(f *testing.F) {
	f.Add(everyTypeTableBytes)
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 6, 1, 'a', 'A', 0, 0, 0})
	f.Fuzz(func(t *testing.T, input []byte) {
		table, err := wire.DecodeTable(input)
		requireWireError(t, err)
		if err != nil {
			return
		}
		first, err := wire.AppendTable(nil, table)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := wire.DecodeTable(first)
		if err != nil {
			t.Fatalf("decode of re-encoding: %v", err)
		}
		second, err := wire.AppendTable(nil, again)
		if err != nil || !bytes.Equal(first, second) {
			t.Fatalf("encoding unstable: % x vs % x (%v)", first, second, err)
		}
	})
}

func FuzzContentHeader(f *testing.F) {
	h := wire.ContentHeader{ClassID: wire.ClassBasic, BodySize: 10, Properties: wire.Properties{
		ContentType: "text/plain", Headers: wire.Table{"a": int32(1)}, DeliveryMode: 2, MessageID: "id",
	}}
	seed, err := h.Append(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(binary.BigEndian.AppendUint16(seed[:12:12], 0xFFFC))
	f.Fuzz(func(t *testing.T, input []byte) {
		var h wire.ContentHeader
		err := h.Decode(input)
		requireWireError(t, err)
		if err != nil {
			return
		}
		first, err := h.Append(nil)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var again wire.ContentHeader
		if err := again.Decode(first); err != nil {
			t.Fatalf("decode of re-encoding: %v", err)
		}
		second, err := again.Append(nil)
		if err != nil || !bytes.Equal(first, second) {
			t.Fatalf("encoding unstable: % x vs % x (%v)", first, second, err)
		}
	})
}
