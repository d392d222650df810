package resp

import (
	"bytes"
	"errors"
	"testing"
)

func TestWriterEncodesInItsVersion(t *testing.T) {
	large := bytes.Repeat([]byte("z"), 100)
	build := func(v Version) string {
		var out bytes.Buffer
		w := NewWriter(&out, 32) // small, so large payloads pass through unbuffered
		w.SetVersion(v)
		w.WriteMapHeader(1)
		w.WriteSimple("OK")
		w.WriteError("NOGROUP No such key 's' or consumer group 'g'")
		w.WriteInt(7)
		w.WriteNull()
		w.WriteNullArray()
		w.WriteArrayHeader(2)
		w.WriteSetHeader(1)
		w.WritePushHeader(3)
		w.WriteDouble(0.5)
		w.WriteBool(true)
		w.WriteBigNumber("123")
		w.WriteBulk(large)
		w.WriteBulkString("s")
		w.WriteVerbatim("txt", []byte("info"))
		if _, err := w.Write([]byte("+raw\r\n")); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if w.Buffered() != 0 {
			t.Fatal("bytes left after Flush")
		}
		return out.String()
	}
	for _, v := range []Version{RESP2, RESP3} {
		var want []byte
		want = AppendMapHeader(want, v, 1)
		want = AppendSimple(want, "OK")
		want = AppendError(want, "NOGROUP No such key 's' or consumer group 'g'")
		want = AppendInt(want, 7)
		want = AppendNull(want, v)
		want = AppendNullArray(want, v)
		want = AppendArrayHeader(want, 2)
		want = AppendSetHeader(want, v, 1)
		want = AppendPushHeader(want, v, 3)
		want = AppendDouble(want, v, 0.5)
		want = AppendBool(want, v, true)
		want = AppendBigNumber(want, v, "123")
		want = AppendBulk(want, large)
		want = AppendBulkString(want, "s")
		want = AppendVerbatim(want, v, "txt", []byte("info"))
		want = append(want, "+raw\r\n"...)
		if got := build(v); got != string(want) {
			t.Errorf("RESP%d:\n got %q\nwant %q", v, got, want)
		}
	}
}

func TestWriterStartsInRESP2(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, 0)
	if w.Version() != RESP2 {
		t.Fatalf("new Writer speaks RESP%d", w.Version())
	}
	w.WriteNull()
	w.Flush()
	if out.String() != "$-1\r\n" {
		t.Fatalf("got %q", out.String())
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWriterFlushReportsWriteError(t *testing.T) {
	broken := errors.New("broken pipe")
	w := NewWriter(failingWriter{broken}, 16)
	w.WriteBulk(bytes.Repeat([]byte("x"), 64)) // larger than the buffer: written through at once
	w.WriteSimple("OK")
	if err := w.Flush(); err != broken {
		t.Fatalf("Flush returned %v, want the write error", err)
	}
}

func TestWriterSmallRepliesAllocateNothing(t *testing.T) {
	var sink bytes.Buffer
	w := NewWriter(&sink, 4096)
	w.SetVersion(RESP3)
	value := []byte("1700000000000-0")
	allocs := testing.AllocsPerRun(1000, func() {
		w.WriteArrayHeader(2)
		w.WriteBulk(value)
		w.WriteMapHeader(1)
		w.WriteBulkString("f")
		w.WriteDouble(1.25)
		w.WriteInt(3)
		if w.Buffered() > 3000 {
			sink.Reset()
			w.Flush()
		}
	})
	if allocs != 0 {
		t.Fatalf("Writer allocated %.1f times per batch", allocs)
	}
}
