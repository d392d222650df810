package resp

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// chunkReader returns its data in reads of at most size bytes, to exercise
// requests that straddle reads.
type chunkReader struct {
	data []byte
	size int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.size)], c.data)
	c.data = c.data[n:]
	return n, nil
}

// readAll returns every command in src, copied, and the error that ended
// the stream.
func readAll(src io.Reader, limits Limits) ([][]string, error) {
	r := NewReader(src, limits)
	var commands [][]string
	var argv [][]byte
	for {
		var err error
		argv, err = r.ReadCommand(argv)
		if err != nil {
			return commands, err
		}
		command := make([]string, len(argv))
		for i, arg := range argv {
			command[i] = string(arg)
		}
		commands = append(commands, command)
	}
}

// readers presents the same input whole, one byte per read, and in 7-byte reads.
func readers(input string) map[string]func() io.Reader {
	return map[string]func() io.Reader{
		"whole":   func() io.Reader { return strings.NewReader(input) },
		"onebyte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(input)) },
		"chunk7":  func() io.Reader { return &chunkReader{data: []byte(input), size: 7} },
	}
}

func TestReadCommandValid(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  [][]string
	}{
		{"multibulk", "*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n", [][]string{{"ECHO", "hi"}}},
		{"empty bulk", "*1\r\n$0\r\n\r\n", [][]string{{""}}},
		{"binary bulk", "*2\r\n$3\r\nSET\r\n$6\r\na\r\nb\x00c\r\n", [][]string{{"SET", "a\r\nb\x00c"}}},
		{"empty requests skipped", "\r\n\n*0\r\n*-1\r\n*-10\r\nPING\r\n", [][]string{{"PING"}}},
		{"only empty requests", "*0\r\n\r\n", nil},
		{"inline crlf", "PING\r\n", [][]string{{"PING"}}},
		{"inline lf", "SET k v\n", [][]string{{"SET", "k", "v"}}},
		{"inline extra spaces and tabs", "  SET\tk   v  \r\n", [][]string{{"SET", "k", "v"}}},
		{"pipeline mixed", "PING\r\n*2\r\n$4\r\nECHO\r\n$1\r\nx\r\nECHO y\r\n*1\r\n$4\r\nQUIT\r\n",
			[][]string{{"PING"}, {"ECHO", "x"}, {"ECHO", "y"}, {"QUIT"}}},
		{"largest negative count", "*-9223372036854775808\r\nPING\r\n", [][]string{{"PING"}}},
	}
	for _, tt := range tests {
		for how, src := range readers(tt.input) {
			t.Run(tt.name+"/"+how, func(t *testing.T) {
				got, err := readAll(src(), Limits{})
				if err != io.EOF {
					t.Fatalf("stream ended with %v, want io.EOF", err)
				}
				if !slices.EqualFunc(got, tt.want, slices.Equal[[]string]) {
					t.Fatalf("got %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestReadCommandInlineQuoting(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{`SET k "hello world"`, []string{"SET", "k", "hello world"}},
		{`SET k "a\x41\x7a\n\r\t\b\a"`, []string{"SET", "k", "aAz\n\r\t\b\a"}},
		{`SET k "\x4g"`, []string{"SET", "k", "x4g"}},
		{`SET k "q\"uo\\te\q"`, []string{"SET", "k", `q"uo\teq`}},
		{`SET k 'it\'s \n raw'`, []string{"SET", "k", `it's \n raw`}},
		{`SET k ""`, []string{"SET", "k", ""}},
		{`SET k ''`, []string{"SET", "k", ""}},
		{`foo"bar baz"qux`, nil}, // closing quote followed by a letter
		{`foo"bar baz" qux`, []string{"foobar baz", "qux"}},
		{`a'b c'`, []string{"ab c"}},
		{"a\vb \vc", []string{"a\vb", "c"}},    // \v separates only before a token
		{"\"x\"\v y", []string{"x", "y"}},      // but counts as space after a quote
		{"GET a\x00b c", []string{"GET", "a"}}, // NUL ends the line, as in C
	}
	for _, tt := range tests {
		for how, src := range readers(tt.line + "\r\n") {
			t.Run(tt.line+"/"+how, func(t *testing.T) {
				got, err := readAll(src(), Limits{})
				if tt.want == nil {
					assertProtocolError(t, err, ErrUnbalancedQuotes, "ERR Protocol error: unbalanced quotes in request")
					return
				}
				if err != io.EOF {
					t.Fatalf("stream ended with %v, want io.EOF", err)
				}
				if len(got) != 1 || !slices.Equal(got[0], tt.want) {
					t.Fatalf("got %q, want [%q]", got, tt.want)
				}
			})
		}
	}
}

func assertProtocolError(t *testing.T, err, kind error, reply string) {
	t.Helper()
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a *ProtocolError", err)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %v is not %v", err, kind)
	}
	if pe.Reply() != reply {
		t.Errorf("reply %q, want %q", pe.Reply(), reply)
	}
}

func TestReadCommandProtocolErrors(t *testing.T) {
	long := strings.Repeat("1", 70000)
	tests := []struct {
		name   string
		input  string
		limits Limits
		kind   error
		reply  string
	}{
		{"count of billions", "*3000000000\r\n", Limits{}, ErrInvalidMultibulkLength, "ERR Protocol error: invalid multibulk length"},
		{"count over MaxArgs", "*20000000\r\n", Limits{}, ErrInvalidMultibulkLength, "ERR Protocol error: invalid multibulk length"},
		{"count over small MaxArgs", "*3\r\n", Limits{MaxArgs: 2}, ErrInvalidMultibulkLength, "ERR Protocol error: invalid multibulk length"},
		{"count not a number", "*abc\r\n", Limits{}, ErrInvalidMultibulkLength, "ERR Protocol error: invalid multibulk length"},
		{"count with plus", "*+1\r\n", Limits{}, ErrInvalidMultibulkLength, "ERR Protocol error: invalid multibulk length"},
		{"count overflowing int64", "*99999999999999999999\r\n", Limits{}, ErrInvalidMultibulkLength, "ERR Protocol error: invalid multibulk length"},
		{"count without CR", "*1\n$4\r\nPING\r\n", Limits{}, ErrInvalidMultibulkLength, "ERR Protocol error: invalid multibulk length"},
		{"count line too long", "*" + long, Limits{}, ErrMultibulkCountTooBig, "ERR Protocol error: too big mbulk count string"},
		{"expected dollar", "*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", Limits{}, ErrExpectedBulk, "ERR Protocol error: expected '$', got 'f'"},
		{"bulk length of billions", "*1\r\n$9999999999\r\n", Limits{}, ErrInvalidBulkLength, "ERR Protocol error: invalid bulk length"},
		{"bulk length over MaxBulkLen", "*1\r\n$11\r\n", Limits{MaxBulkLen: 10}, ErrInvalidBulkLength, "ERR Protocol error: invalid bulk length"},
		{"negative bulk length", "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", Limits{}, ErrInvalidBulkLength, "ERR Protocol error: invalid bulk length"},
		{"bulk length leading zero", "*1\r\n$01\r\nx\r\n", Limits{}, ErrInvalidBulkLength, "ERR Protocol error: invalid bulk length"},
		{"bulk length not a number", "*1\r\n$blabla\r\n", Limits{}, ErrInvalidBulkLength, "ERR Protocol error: invalid bulk length"},
		{"bulk length line too long", "*1\r\n$" + long, Limits{}, ErrBulkCountTooBig, "ERR Protocol error: too big bulk count string"},
		{"bulk not terminated", "*1\r\n$3\r\nabcXY", Limits{}, ErrUnterminatedBulk, "ERR Protocol error: bulk data not terminated by CRLF"},
		{"inline too long", strings.Repeat("a", 70000), Limits{}, ErrInlineTooBig, "ERR Protocol error: too big inline request"},
		{"inline just over limit", strings.Repeat("a", 11) + "\r\n", Limits{MaxInlineLen: 10}, ErrInlineTooBig, "ERR Protocol error: too big inline request"},
		{"inline LF-only just over limit", strings.Repeat("a", 11) + "\n", Limits{MaxInlineLen: 10}, ErrInlineTooBig, "ERR Protocol error: too big inline request"},
		{"unbalanced double quote", "SET k \"v\r\n", Limits{}, ErrUnbalancedQuotes, "ERR Protocol error: unbalanced quotes in request"},
		{"unbalanced single quote", "SET k 'v\r\n", Limits{}, ErrUnbalancedQuotes, "ERR Protocol error: unbalanced quotes in request"},
		{"error after good commands", "PING\r\n*1\r\n$x\r\n", Limits{}, ErrInvalidBulkLength, "ERR Protocol error: invalid bulk length"},
	}
	for _, tt := range tests {
		for how, src := range readers(tt.input) {
			t.Run(tt.name+"/"+how, func(t *testing.T) {
				r := NewReader(src(), tt.limits)
				var err error
				for err == nil {
					_, err = r.ReadCommand(nil)
				}
				assertProtocolError(t, err, tt.kind, tt.reply)
				if _, again := r.ReadCommand(nil); again != err {
					t.Errorf("second call returned %v, want the same error again", again)
				}
			})
		}
	}
}

func TestReadCommandAtLimitsSucceeds(t *testing.T) {
	limits := Limits{MaxBulkLen: 10, MaxArgs: 2, MaxInlineLen: 10}
	input := "*2\r\n$10\r\n0123456789\r\n$0\r\n\r\n" + strings.Repeat("b", 10) + "\r\n"
	got, err := readAll(strings.NewReader(input), limits)
	if err != io.EOF {
		t.Fatalf("stream ended with %v", err)
	}
	want := [][]string{{"0123456789", ""}, {"bbbbbbbbbb"}}
	if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestReadCommandQueryBufferLimit(t *testing.T) {
	value := strings.Repeat("v", 60)
	input := "*2\r\n$60\r\n" + value + "\r\n$60\r\n" + value + "\r\n"
	_, err := readAll(strings.NewReader(input), Limits{MaxCommandSize: 100})
	if err != ErrQueryBufferLimit {
		t.Fatalf("got %v, want ErrQueryBufferLimit", err)
	}
	var pe *ProtocolError
	if errors.As(err, &pe) {
		t.Fatal("query buffer limit must not be a ProtocolError: Redis closes without replying")
	}
	got, err := readAll(strings.NewReader(input), Limits{MaxCommandSize: len(input)})
	if err != io.EOF || len(got) != 1 {
		t.Fatalf("a command of exactly MaxCommandSize: got %d commands, %v", len(got), err)
	}
}

func TestReadCommandTruncated(t *testing.T) {
	for _, input := range []string{"*2\r\n$4\r\nECHO\r\n", "*2\r\n$4\r\nEC", "*2", "PIN", "SET \"a b"} {
		for how, src := range readers(input) {
			t.Run(how, func(t *testing.T) {
				_, err := readAll(src(), Limits{})
				if err != io.ErrUnexpectedEOF {
					t.Fatalf("%q: got %v, want io.ErrUnexpectedEOF", input, err)
				}
			})
		}
	}
}

func TestReadCommandPassesSourceError(t *testing.T) {
	boom := errors.New("connection reset")
	src := io.MultiReader(strings.NewReader("PING\r\nPI"), iotest.ErrReader(boom))
	r := NewReader(src, Limits{})
	argv, err := r.ReadCommand(nil)
	if err != nil || len(argv) != 1 || string(argv[0]) != "PING" {
		t.Fatalf("got %q, %v", argv, err)
	}
	if _, err := r.ReadCommand(argv); err != boom {
		t.Fatalf("got %v, want the source's error", err)
	}
}

func TestReadCommandArgumentsDoNotOverlap(t *testing.T) {
	r := NewReader(strings.NewReader("*2\r\n$1\r\na\r\n$1\r\nb\r\n"), Limits{})
	argv, err := r.ReadCommand(nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(argv[0], 'X', 'Y', 'Z')
	if string(argv[1]) != "b" {
		t.Fatalf("appending to argv[0] changed argv[1] to %q", argv[1])
	}
}

func TestBufferedReportsPipelinedInput(t *testing.T) {
	second := "*1\r\n$4\r\nPING\r\n"
	r := NewReader(strings.NewReader("PING\r\n"+second), Limits{})
	if _, err := r.ReadCommand(nil); err != nil {
		t.Fatal(err)
	}
	if got := r.Buffered(); got != len(second) {
		t.Fatalf("Buffered after first command = %d, want %d", got, len(second))
	}
	if _, err := r.ReadCommand(nil); err != nil {
		t.Fatal(err)
	}
	if got := r.Buffered(); got != 0 {
		t.Fatalf("Buffered after last command = %d, want 0", got)
	}
}

func TestLargeBulkThenBufferShrinks(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 3<<20)
	input := AppendArrayHeader(nil, 2)
	input = AppendBulkString(input, "SET")
	input = AppendBulk(input, big)
	input = append(input, "PING\r\nPING\r\n"...)
	r := NewReader(&chunkReader{data: input, size: 4096}, Limits{})
	argv, err := r.ReadCommand(nil)
	if err != nil || len(argv) != 2 || !bytes.Equal(argv[1], big) {
		t.Fatalf("big command: %d args, %v", len(argv), err)
	}
	if len(r.buf) < len(big) {
		t.Fatalf("buffer of %d bytes cannot have held the command", len(r.buf))
	}
	for range 2 {
		if argv, err = r.ReadCommand(argv); err != nil || string(argv[0]) != "PING" {
			t.Fatalf("got %q, %v", argv, err)
		}
	}
	if len(r.buf) != initialBufferSize {
		t.Fatalf("buffer still %d bytes after small commands, want %d", len(r.buf), initialBufferSize)
	}
}

// bytesAllocated reports how many bytes of heap f allocates.
func bytesAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHugeClaimsAllocateNothingUpFront(t *testing.T) {
	claims := []string{
		"*3000000000\r\n",
		"*1\r\n$9999999999\r\n",
		"*1048576\r\n$1\r\nx\r\n",           // an allowed count, then the client stops
		"*1\r\n$8388608\r\n" + "0123456789", // an allowed length, then the client stops
	}
	for _, claim := range claims {
		allocated := bytesAllocated(func() {
			r := NewReader(strings.NewReader(claim), Limits{})
			if _, err := r.ReadCommand(nil); err == nil {
				t.Errorf("%q: no error", claim)
			}
		})
		if allocated > 64<<10 {
			t.Errorf("%q: allocated %d bytes, want at most 64 KiB", claim[:12], allocated)
		}
	}
}

// repeatReader replays the same bytes forever.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}

func TestReadCommandSteadyStateAllocatesNothing(t *testing.T) {
	command := "*5\r\n$4\r\nXADD\r\n$6\r\norders\r\n$1\r\n*\r\n$5\r\nfield\r\n$5\r\nvalue\r\n" +
		"XACK orders g 1-0\r\n"
	r := NewReader(&repeatReader{data: []byte(command)}, Limits{})
	argv, _ := r.ReadCommand(nil)
	allocs := testing.AllocsPerRun(1000, func() {
		var err error
		if argv, err = r.ReadCommand(argv); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ReadCommand allocated %.1f times per command, want 0", allocs)
	}
}

func TestParseInt(t *testing.T) {
	valid := map[string]int64{"0": 0, "1": 1, "-1": -1, "512": 512,
		"9223372036854775807": 1<<63 - 1, "-9223372036854775808": -1 << 63}
	for text, want := range valid {
		if got, ok := ParseInt([]byte(text)); !ok || got != want {
			t.Errorf("ParseInt(%q) = %d, %v; want %d", text, got, ok, want)
		}
	}
	for _, text := range []string{"", "-", "+1", "01", "-0", "00", " 1", "1 ", "1a",
		"9223372036854775808", "-9223372036854775809", "18446744073709551616"} {
		if got, ok := ParseInt([]byte(text)); ok {
			t.Errorf("ParseInt(%q) = %d, accepted", text, got)
		}
	}
}
