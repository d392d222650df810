package wire_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

func TestReadFrameRejectsMalformedFrames(t *testing.T) {
	good := wire.AppendFrame(nil, wire.FrameBody, 3, []byte("abc"))
	badEnd := bytes.Clone(good)
	badEnd[len(badEnd)-1] = 0xCD
	oversize := wire.AppendFrame(nil, wire.FrameBody, 3, make([]byte, wire.FrameMinSize-wire.FrameOverhead+1))
	tests := []struct {
		name     string
		input    []byte
		sentinel error
	}{
		{"bad frame end", badEnd, wire.ErrBadFrameEnd},
		{"one byte over frame-max", oversize, wire.ErrFrameTooLarge},
		{"size near 4 GiB", []byte{3, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF}, wire.ErrFrameTooLarge},
		{"unknown type", wire.AppendFrame(nil, 4, 0, nil), wire.ErrUnknownFrameType},
		{"heartbeat on channel 1", wire.AppendFrame(nil, wire.FrameHeartbeat, 1, nil), wire.ErrBadHeartbeat},
	}
	for _, tc := range tests {
		_, err := wire.ReadFrame(bufioReader(tc.input), 0)
		var werr *wire.Error
		if !errors.As(err, &werr) || werr.Code != wire.ReplyFrameError || !errors.Is(err, tc.sentinel) {
			t.Errorf("%s: err = %v, want frame error wrapping %v", tc.name, err, tc.sentinel)
		}
	}
}

func TestReadFrameAcceptsFrameMaxExactly(t *testing.T) {
	payload := bytes.Repeat([]byte{7}, 10000-wire.FrameOverhead)
	input := wire.AppendFrame(nil, wire.FrameBody, 9, payload)
	f, err := wire.ReadFrame(bufioReader(input), 10000)
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != wire.FrameBody || f.Channel != 9 || !bytes.Equal(f.Payload, payload) {
		t.Fatalf("got type %d channel %d and %d payload bytes", f.Type, f.Channel, len(f.Payload))
	}
	if _, err := wire.ReadFrame(bufioReader(input), 9999); !errors.Is(err, wire.ErrFrameTooLarge) {
		t.Fatalf("frame-max 9999: err = %v, want ErrFrameTooLarge", err)
	}
}

func TestReadFrameEOF(t *testing.T) {
	frame := wire.AppendHeartbeat(nil)
	r := bufioReader(frame)
	if f, err := wire.ReadFrame(r, 0); err != nil || f.Type != wire.FrameHeartbeat || len(f.Payload) != 0 {
		t.Fatalf("heartbeat: %+v, %v", f, err)
	}
	if _, err := wire.ReadFrame(r, 0); err != io.EOF {
		t.Fatalf("between frames: err = %v, want io.EOF", err)
	}
	for n := 1; n < len(frame); n++ {
		if _, err := wire.ReadFrame(bufioReader(frame[:n]), 0); err != io.ErrUnexpectedEOF {
			t.Fatalf("cut after %d bytes: err = %v, want io.ErrUnexpectedEOF", n, err)
		}
	}
}

func TestReadFrameIntoReusesTheBuffer(t *testing.T) {
	input := wire.AppendFrame(nil, wire.FrameBody, 1, []byte("first"))
	input = wire.AppendFrame(input, wire.FrameBody, 1, []byte("second"))
	r := bufioReader(input)
	buf := make([]byte, 64)
	for _, want := range []string{"first", "second"} {
		f, err := wire.ReadFrameInto(r, 0, buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(f.Payload) != want || &f.Payload[0] != &buf[0] {
			t.Fatalf("payload %q (aliases buf: %t), want %q in buf", f.Payload, &f.Payload[0] == &buf[0], want)
		}
	}
}

func TestAppendBodyFramesSplitsAtFrameMax(t *testing.T) {
	body := make([]byte, 10000)
	for i := range body {
		body[i] = byte(i)
	}
	out := wire.AppendBodyFrames(nil, 5, body, wire.FrameMinSize)
	r := bufioReader(out)
	var got []byte
	frames := 0
	for {
		f, err := wire.ReadFrame(r, wire.FrameMinSize)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Type != wire.FrameBody || f.Channel != 5 || len(f.Payload) > wire.MaxBodyFramePayload(wire.FrameMinSize) {
			t.Fatalf("frame %d: type %d channel %d payload %d", frames, f.Type, f.Channel, len(f.Payload))
		}
		got = append(got, f.Payload...)
		frames++
	}
	// 4088 body bytes fit in a 4096-byte frame: 10000 bytes need 3 frames.
	if frames != 3 || !bytes.Equal(got, body) {
		t.Fatalf("%d frames reassemble to %d bytes, want 3 frames and the body", frames, len(got))
	}
	if out := wire.AppendBodyFrames(nil, 5, nil, 0); len(out) != 0 {
		t.Fatalf("empty body produced %d bytes", len(out))
	}
}

func TestAppendMethodFrameLeavesDstOnError(t *testing.T) {
	dst := []byte("keep")
	long := string(make([]byte, 256))
	out, err := wire.AppendMethodFrame(dst, 1, &wire.BasicConsume{Queue: long})
	if !errors.Is(err, wire.ErrShortStringTooLong) || string(out) != "keep" {
		t.Fatalf("got %q, %v; want dst unchanged and ErrShortStringTooLong", out, err)
	}
	if _, err := wire.AppendMethodFrame(nil, 1, &wire.BasicConsume{Queue: long[:255]}); err != nil {
		t.Fatalf("255-byte short string: %v", err)
	}
}

func TestProtocolHeader(t *testing.T) {
	if err := wire.ReadProtocolHeader(bytes.NewReader([]byte("AMQP\x00\x00\x09\x01"))); err != nil {
		t.Fatalf("0-9-1 header rejected: %v", err)
	}
	for _, header := range []string{"AMQP\x01\x01\x00\x09", "AMQP\x00\x01\x00\x00", "GET / HT"} {
		if err := wire.CheckProtocolHeader([]byte(header)); !errors.Is(err, wire.ErrProtocolHeaderMismatch) {
			t.Errorf("%q: err = %v, want mismatch", header, err)
		}
	}
	if err := wire.ReadProtocolHeader(bytes.NewReader([]byte("AMQP"))); err != io.ErrUnexpectedEOF {
		t.Errorf("short header: err = %v", err)
	}
}
