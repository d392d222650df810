package resp

import (
	"bytes"
	"fmt"
	"math"
	"testing"
)

func TestAppendEncodings(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"simple", AppendSimple(nil, "OK"), "+OK\r\n"},
		{"simple newline", AppendSimple(nil, "a\r\nb"), "+a  b\r\n"},
		{"error", AppendError(nil, "WRONGTYPE Operation against a key holding the wrong kind of value"),
			"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
		{"error newline", AppendError(nil, "ERR Protocol error: expected '$', got '\n'"), "-ERR Protocol error: expected '$', got ' '\r\n"},
		{"int", AppendInt(nil, -42), ":-42\r\n"},
		{"bulk", AppendBulk(nil, []byte("a\r\nb")), "$4\r\na\r\nb\r\n"},
		{"empty bulk", AppendBulk(nil, nil), "$0\r\n\r\n"},
		{"bulk string", AppendBulkString(nil, "hello"), "$5\r\nhello\r\n"},
		{"null 2", AppendNull(nil, RESP2), "$-1\r\n"},
		{"null 3", AppendNull(nil, RESP3), "_\r\n"},
		{"null array 2", AppendNullArray(nil, RESP2), "*-1\r\n"},
		{"null array 3", AppendNullArray(nil, RESP3), "_\r\n"},
		{"array", AppendArrayHeader(nil, 3), "*3\r\n"},
		{"map 2", AppendMapHeader(nil, RESP2, 3), "*6\r\n"},
		{"map 3", AppendMapHeader(nil, RESP3, 3), "%3\r\n"},
		{"set 2", AppendSetHeader(nil, RESP2, 2), "*2\r\n"},
		{"set 3", AppendSetHeader(nil, RESP3, 2), "~2\r\n"},
		{"push 2", AppendPushHeader(nil, RESP2, 3), "*3\r\n"},
		{"push 3", AppendPushHeader(nil, RESP3, 3), ">3\r\n"},
		{"double 2", AppendDouble(nil, RESP2, 1.5), "$3\r\n1.5\r\n"},
		{"double 3", AppendDouble(nil, RESP3, 1.5), ",1.5\r\n"},
		{"double integral", AppendDouble(nil, RESP3, 3), ",3\r\n"},
		{"double tiny", AppendDouble(nil, RESP3, 0.1), ",0.1\r\n"},
		{"double inf", AppendDouble(nil, RESP3, math.Inf(1)), ",inf\r\n"},
		{"double -inf 2", AppendDouble(nil, RESP2, math.Inf(-1)), "$4\r\n-inf\r\n"},
		{"double nan", AppendDouble(nil, RESP3, math.NaN()), ",nan\r\n"},
		{"bool 2", AppendBool(nil, RESP2, true), ":1\r\n"},
		{"bool 2 false", AppendBool(nil, RESP2, false), ":0\r\n"},
		{"bool 3", AppendBool(nil, RESP3, true), "#t\r\n"},
		{"bool 3 false", AppendBool(nil, RESP3, false), "#f\r\n"},
		{"verbatim 2", AppendVerbatim(nil, RESP2, "txt", []byte("Some string")), "$11\r\nSome string\r\n"},
		{"verbatim 3", AppendVerbatim(nil, RESP3, "txt", []byte("Some string")), "=15\r\ntxt:Some string\r\n"},
		{"big number 2", AppendBigNumber(nil, RESP2, "3492890328409238509324850943850943825024385"),
			"$43\r\n3492890328409238509324850943850943825024385\r\n"},
		{"big number 3", AppendBigNumber(nil, RESP3, "-3492890328409238509324850943850943825024385"),
			"(-3492890328409238509324850943850943825024385\r\n"},
		{"appends to existing", AppendInt([]byte("+OK\r\n"), 1), "+OK\r\n:1\r\n"},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestAppendVerbatimRejectsBadFormat(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a 4-byte format did not panic")
		}
	}()
	AppendVerbatim(nil, RESP3, "text", nil)
}

// A bad format is a programming error whichever version the client speaks,
// for the Append function and the Writer alike.
func TestVerbatimRejectsBadFormatInEveryVersion(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: a 2-byte format did not panic", name)
			}
		}()
		f()
	}
	for _, v := range []Version{RESP2, RESP3} {
		mustPanic(fmt.Sprintf("AppendVerbatim RESP%d", v), func() { AppendVerbatim(nil, v, "md", nil) })
	}
}

func TestAppendIntoSpareCapacityAllocatesNothing(t *testing.T) {
	buf := make([]byte, 0, 256)
	value := []byte("value")
	allocs := testing.AllocsPerRun(100, func() {
		b := AppendMapHeader(buf[:0], RESP3, 1)
		b = AppendBulkString(b, "field")
		b = AppendBulk(b, value)
		b = AppendDouble(b, RESP2, 2.25)
		b = AppendInt(b, 1<<40)
		if !bytes.HasPrefix(b, []byte("%1\r\n")) {
			t.Fatal("wrong encoding")
		}
	})
	if allocs != 0 {
		t.Fatalf("appending replies allocated %.1f times", allocs)
	}
}
