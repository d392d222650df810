package resp

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
	"testing/iotest"
)

// fuzzLimits are small so that the fuzzer reaches every limit.
var fuzzLimits = Limits{MaxBulkLen: 64, MaxArgs: 16, MaxInlineLen: 48, MaxCommandSize: 256}

// encodeMultibulk encodes argv the way clients send commands.
func encodeMultibulk(argv [][]byte) []byte {
	b := AppendArrayHeader(nil, len(argv))
	for _, arg := range argv {
		b = AppendBulk(b, arg)
	}
	return b
}

// encodeInline encodes argv as one inline line, double-quoting every
// argument and hex-escaping every byte that the quoting rules treat specially.
func encodeInline(argv [][]byte) []byte {
	const hexDigits = "0123456789abcdef"
	var b []byte
	for i, arg := range argv {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, '"')
		for _, c := range arg {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c >= 0x7f:
				b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
			default:
				b = append(b, c)
			}
		}
		b = append(b, '"')
	}
	return append(b, '\r', '\n')
}

type fuzzOutcome struct {
	commands [][][]byte
	err      error
}

func readOutcome(src io.Reader) fuzzOutcome {
	r := NewReader(src, fuzzLimits)
	var out fuzzOutcome
	for {
		argv, err := r.ReadCommand(nil)
		if err != nil {
			out.err = err
			return out
		}
		if len(argv) == 0 {
			panic("ReadCommand returned an empty command without error")
		}
		command := make([][]byte, len(argv))
		for i, arg := range argv {
			command[i] = bytes.Clone(arg) // detach from the reader's buffer
		}
		out.commands = append(out.commands, command)
	}
}

func sameArgv(a, b [][]byte) bool { return slices.EqualFunc(a, b, bytes.Equal) }

func sameError(a, b error) bool {
	var pa, pb *ProtocolError
	if errors.As(a, &pa) && errors.As(b, &pb) {
		return pa.Kind == pb.Kind && pa.Detail == pb.Detail
	}
	return a == b
}

func FuzzReadCommand(f *testing.F) {
	for _, seed := range []string{
		"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n",
		"PING\r\nSET k \"v\\x41\" 'it\\'s'\r\n",
		"*0\r\n\r\n*-1\r\n",
		"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
		"*1\r\n$99\r\n",
		"*3000000000\r\n",
		"\"unbalanced\r\n",
		"a\x00b \"c\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		whole := readOutcome(bytes.NewReader(input))
		byteWise := readOutcome(iotest.OneByteReader(bytes.NewReader(input)))
		if !sameError(whole.err, byteWise.err) {
			t.Fatalf("whole input ended with %v, byte by byte with %v", whole.err, byteWise.err)
		}
		if !slices.EqualFunc(whole.commands, byteWise.commands, sameArgv) {
			t.Fatalf("commands depend on read sizes: %q vs %q", whole.commands, byteWise.commands)
		}
		var pe *ProtocolError
		if errors.As(whole.err, &pe) {
			if reply := AppendError(nil, pe.Reply()); bytes.Count(reply, []byte("\r\n")) != 1 || !bytes.HasSuffix(reply, []byte("\r\n")) {
				t.Fatalf("error reply %q is not one protocol line", reply)
			}
		} else if whole.err != io.EOF && whole.err != io.ErrUnexpectedEOF && whole.err != ErrQueryBufferLimit {
			t.Fatalf("unexpected error %v", whole.err)
		}
		// MaxArgs caps the "*N" of a multibulk request. An inline request, as
		// in Redis, is bounded only by its length: at most one argument per
		// two bytes of the line.
		maxArgs := max(fuzzLimits.MaxArgs, (fuzzLimits.MaxInlineLen+1)/2)
		for _, argv := range whole.commands {
			if len(argv) > maxArgs {
				t.Fatalf("%d arguments exceed both MaxArgs and what an inline line can hold", len(argv))
			}
			for _, encoded := range [][]byte{encodeMultibulk(argv), encodeInline(argv)} {
				again, err := NewReader(bytes.NewReader(encoded), Limits{}).ReadCommand(nil)
				if err != nil {
					t.Fatalf("re-reading %q: %v", encoded, err)
				}
				if !slices.EqualFunc(again, argv, bytes.Equal) {
					t.Fatalf("%q round-tripped to %q via %q", argv, again, encoded)
				}
			}
		}
	})
}
