package routing

import (
	"errors"
	"testing"
)

func hdrs(kv ...string) []Header {
	out := make([]Header, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, Header{Key: kv[i], Value: []byte(kv[i+1])})
	}
	return out
}

func args(kv ...string) map[string][]byte {
	out := make(map[string][]byte, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = []byte(kv[i+1])
	}
	return out
}

func TestHeadersMatching(t *testing.T) {
	presentOnly := args("x-match", "all")
	presentOnly["a"] = nil
	anyPresent := args("x-match", "any", "b", "2")
	anyPresent["a"] = nil

	cases := []struct {
		name    string
		args    map[string][]byte
		match   [][]Header
		noMatch [][]Header
	}{
		{"all", args("x-match", "all", "a", "1", "b", "2"),
			[][]Header{hdrs("a", "1", "b", "2"), hdrs("c", "3", "b", "2", "a", "1")},
			[][]Header{nil, hdrs("a", "1"), hdrs("a", "1", "b", "3")}},
		{"all is the default", args("a", "1", "b", "2"),
			[][]Header{hdrs("a", "1", "b", "2")},
			[][]Header{hdrs("a", "1")}},
		{"any", args("x-match", "any", "a", "1", "b", "2"),
			[][]Header{hdrs("b", "2"), hdrs("a", "1", "b", "9")},
			[][]Header{nil, hdrs("b", "3"), hdrs("c", "1")}},
		{"all ignores x- arguments", args("x-match", "all", "x-trace", "on", "a", "1"),
			[][]Header{hdrs("a", "1")},
			[][]Header{hdrs("x-trace", "on")}},
		{"any ignores x- arguments", args("x-match", "any", "x-trace", "on", "a", "1"),
			[][]Header{hdrs("a", "1")},
			[][]Header{hdrs("x-trace", "on")}},
		{"all with only x- arguments matches everything", args("x-trace", "on"),
			[][]Header{nil, hdrs("z", "z")}, nil},
		{"any with only x- arguments matches nothing", args("x-match", "any", "x-trace", "on"),
			nil, [][]Header{nil, hdrs("x-trace", "on")}},
		{"all-with-x", args("x-match", "all-with-x", "x-trace", "on", "a", "1"),
			[][]Header{hdrs("x-trace", "on", "a", "1")},
			[][]Header{hdrs("a", "1"), hdrs("x-trace", "off", "a", "1")}},
		{"any-with-x", args("x-match", "any-with-x", "x-trace", "on", "a", "1"),
			[][]Header{hdrs("x-trace", "on"), hdrs("a", "1")},
			[][]Header{hdrs("x-trace", "off"), nil}},
		{"x-match itself never takes part", args("x-match", "any-with-x"),
			nil, [][]Header{hdrs("x-match", "any-with-x")}},
		{"nil value matches presence", presentOnly,
			[][]Header{hdrs("a", "anything"), hdrs("a", "")},
			[][]Header{nil, hdrs("b", "1")}},
		{"nil value in any", anyPresent,
			[][]Header{hdrs("a", "x"), hdrs("b", "2")},
			[][]Header{hdrs("b", "1")}},
		{"empty value must be equal", args("a", ""),
			[][]Header{hdrs("a", "")},
			[][]Header{hdrs("a", "x"), nil}},
		{"first of repeated headers counts", args("a", "1"),
			[][]Header{hdrs("a", "1", "a", "2")},
			[][]Header{hdrs("a", "2", "a", "1")}},
		{"no arguments with all matches everything", nil,
			[][]Header{nil, hdrs("a", "1")}, nil},
		{"no arguments with any matches nothing", args("x-match", "any"),
			nil, [][]Header{nil, hdrs("a", "1")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tb := NewTable()
			mustDeclare(t, tb, Exchange{Name: "h", Kind: Headers})
			mustBind(t, tb, "h", Binding{Destination: "q", Key: "ignored", Args: c.args})
			for _, h := range c.match {
				expectRoute(t, tb, "h", "any-key", h, "q")
			}
			for _, h := range c.noMatch {
				expectRoute(t, tb, "h", "any-key", h)
			}
		})
	}
}

func TestHeadersRejectsInvalidMatch(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb, Exchange{Name: "h", Kind: Headers})
	voidMatch := map[string][]byte{"x-match": nil}
	for _, a := range []map[string][]byte{args("x-match", "some"), args("x-match", "ALL"), voidMatch} {
		if _, err := tb.Bind("h", Binding{Destination: "q", Args: a}); !errors.Is(err, ErrInvalidMatch) {
			t.Errorf("Bind with %q: error %v, want ErrInvalidMatch", a, err)
		}
	}
	if tb.HasBindings("h") {
		t.Error("a rejected binding was kept")
	}
	// Other kinds keep arguments without interpreting them.
	mustDeclare(t, tb, Exchange{Name: "d", Kind: Direct})
	mustBind(t, tb, "d", Binding{Destination: "q", Args: args("x-match", "some")})
}

func TestHeadersRoutesInBindingOrder(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb, Exchange{Name: "h", Kind: Headers})
	mustBind(t, tb, "h", Binding{Destination: "q3", Args: args("a", "1")})
	mustBind(t, tb, "h", Binding{Destination: "q1", Args: args("x-match", "any", "a", "1", "b", "1")})
	mustBind(t, tb, "h", Binding{Destination: "q2", Args: args("b", "1")})
	mustBind(t, tb, "h", Binding{Destination: "q3", Args: args("b", "1")})
	expectRoute(t, tb, "h", "", hdrs("a", "1", "b", "1"), "q3", "q1", "q2")
}
