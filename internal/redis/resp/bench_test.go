package resp

import (
	"bytes"
	"io"
	"testing"
)

// xaddPipeline encodes count XADD commands with a value of valueSize bytes,
// as a producer pipelining to one stream sends them.
func xaddPipeline(count, valueSize int) []byte {
	value := bytes.Repeat([]byte("v"), valueSize)
	var b []byte
	for range count {
		b = AppendArrayHeader(b, 5)
		b = AppendBulkString(b, "XADD")
		b = AppendBulkString(b, "orders")
		b = AppendBulkString(b, "*")
		b = AppendBulkString(b, "payload")
		b = AppendBulk(b, value)
	}
	return b
}

// BenchmarkReadCommandXADDPipeline parses a pipeline of 256 XADD commands
// with 1 KiB values; one op is the whole pipeline.
func BenchmarkReadCommandXADDPipeline(b *testing.B) {
	const commands = 256
	pipeline := xaddPipeline(commands, 1024)
	src := bytes.NewReader(pipeline)
	r := NewReader(src, Limits{})
	var argv [][]byte
	b.SetBytes(int64(len(pipeline)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(pipeline)
		for range commands {
			var err error
			if argv, err = r.ReadCommand(argv); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := r.ReadCommand(argv); err != io.EOF {
			b.Fatalf("pipeline ended with %v", err)
		}
		r.readErr = nil // rewind the Reader along with its source
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*commands), "ns/command")
}

// BenchmarkReadCommandInline parses short inline commands, as typed into
// telnet or sent by health checks.
func BenchmarkReadCommandInline(b *testing.B) {
	r := NewReader(&repeatReader{data: []byte("XACK orders workers \"1700000000000-0\"\r\n")}, Limits{})
	var argv [][]byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if argv, err = r.ReadCommand(argv); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendXRANGEReply encodes an XRANGE-style reply of 100 entries
// with 1 KiB values into a reused buffer.
func BenchmarkAppendXRANGEReply(b *testing.B) {
	value := bytes.Repeat([]byte("v"), 1024)
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		out = AppendArrayHeader(out[:0], 100)
		for range 100 {
			out = AppendArrayHeader(out, 2)
			out = AppendBulkString(out, "1700000000000-0")
			out = AppendArrayHeader(out, 2)
			out = AppendBulkString(out, "payload")
			out = AppendBulk(out, value)
		}
	}
}
