package routing

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestTopicMatching(t *testing.T) {
	cases := []struct {
		pattern string
		match   []string
		noMatch []string
	}{
		{"#", []string{"", "a", "a.b", ".", "a..b"}, nil},
		{"#.#", []string{"", "a", "a.b.c"}, nil},
		{"a.#", []string{"a", "a.b", "a.b.c", "a."}, []string{"", "b", "b.a", "ab"}},
		{"#.b", []string{"b", "a.b", "a.c.b", ".b"}, []string{"", "b.a", "ab"}},
		{"a.*.#", []string{"a.b", "a.b.c", "a.b.c.d", "a."}, []string{"a", "", "b.b"}},
		{"*", []string{"a", "#", "*"}, []string{"", "a.b", "."}},
		{"*.*", []string{".", "a.b", "a."}, []string{"", "a", "a.b.c"}},
		{"", []string{""}, []string{"a", ".", "*"}},
		{"a..b", []string{"a..b"}, []string{"a.b", "a.c.b", "a...b"}},
		{"a.*.b", []string{"a..b", "a.c.b"}, []string{"a.b", "a.c.d.b"}},
		{"a.", []string{"a."}, []string{"a", "a.b"}},
		{"*.#", []string{"a", "a.b"}, []string{""}},
		{"#.*", []string{"a", "a.b"}, []string{""}},
		{"#.*.#.*.#", []string{"a.b", "a.b.c"}, []string{"", "a"}},
		{"a*", []string{"a*"}, []string{"ab", "a"}},
		{"a#", []string{"a#"}, []string{"a", "a.b"}},
		{"#.a.#", []string{"a", "b.a", "a.b", "b.a.c"}, []string{"", "b", "b.c", "ab"}},
		{"a.#.#.b", []string{"a.b", "a.x.b", "a.x.y.b"}, []string{"a", "b", "a.b.c"}},
		{"#.a.#.a.#.a.#", []string{"a.a.a", "x.a.y.a.z.a.w"}, []string{"a.a", "a.b.a"}},
		{"stock.usd.nyse", []string{"stock.usd.nyse"}, []string{"stock.usd", "stock.usd.nyse.x", "stock.eur.nyse"}},
	}
	for _, c := range cases {
		t.Run(c.pattern, func(t *testing.T) {
			tb := NewTable()
			mustDeclare(t, tb, Exchange{Name: "t", Kind: Topic})
			mustBind(t, tb, "t", toQueue("q", c.pattern))
			for _, key := range c.match {
				expectRoute(t, tb, "t", key, nil, "q")
			}
			for _, key := range c.noMatch {
				expectRoute(t, tb, "t", key, nil)
			}
		})
	}
}

func TestTopicPatternWordsNormalisesWildcardRuns(t *testing.T) {
	cases := map[string][]string{
		"":            nil,
		"#.#":         {"#"},
		"#.*":         {"*", "#"},
		"*.#.*.#.a.#": {"*", "*", "#", "a", "#"},
		"a..b":        {"a", "", "b"},
		"a.#.#.b.*":   {"a", "#", "b", "*"},
	}
	for key, want := range cases {
		if got := topicPatternWords(key); !slices.Equal(got, want) {
			t.Errorf("topicPatternWords(%q) = %q, want %q", key, got, want)
		}
	}
}

// A key with many "#"s against a long routing key that almost matches would
// take exponential time if every "#" retried every position; this finishes only
// because nested "#" entries are remembered.
func TestTopicManyHashesStaysFast(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb, Exchange{Name: "t", Kind: Topic})
	pattern := strings.Repeat("#.a.", 40) + "#.b"
	mustBind(t, tb, "t", toQueue("q", pattern))
	key := strings.Repeat("a.", 120) + "c"
	expectRoute(t, tb, "t", key, nil)
	expectRoute(t, tb, "t", strings.Repeat("a.", 120)+"b", nil, "q")
}

func TestTopicRoutesEveryMatchingBindingOnce(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb, Exchange{Name: "t", Kind: Topic})
	mustBind(t, tb, "t", toQueue("all", "#"))
	mustBind(t, tb, "t", toQueue("usd", "*.usd.*"))
	mustBind(t, tb, "t", toQueue("nyse", "#.nyse"))
	mustBind(t, tb, "t", toQueue("all", "stock.#")) // second route to "all"
	mustBind(t, tb, "t", toQueue("eur", "*.eur.*"))
	got := tb.Route("t", "stock.usd.nyse", nil, nil)
	slices.Sort(got)
	if want := []string{"all", "nyse", "usd"}; !slices.Equal(got, want) {
		t.Errorf("Route = %q, want %q", got, want)
	}
}

func TestTopicUnbindPrunesTrie(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb, Exchange{Name: "t", Kind: Topic})
	keys := []string{"a.b.c", "a.*.c", "a.#", "#", "#.c", "a..", ""}
	for _, k := range keys {
		mustBind(t, tb, "t", toQueue("q", k))
		mustBind(t, tb, "t", toQueue("r", k))
	}
	for _, k := range keys {
		if !tb.Unbind("t", toQueue("q", k)) {
			t.Fatalf("Unbind(q, %q) = false", k)
		}
	}
	expectRoute(t, tb, "t", "a.b.c", nil, "r")
	for _, k := range keys {
		if !tb.Unbind("t", toQueue("r", k)) {
			t.Fatalf("Unbind(r, %q) = false", k)
		}
	}
	if root := &tb.exchanges["t"].topic; !root.isEmpty() {
		t.Errorf("trie not pruned after removing every binding: %+v", root)
	}
}

// referenceTopicMatch is the topic rule written as directly as possible, to
// check the trie against.
func referenceTopicMatch(pattern, key []string) bool {
	if len(pattern) == 0 {
		return len(key) == 0
	}
	switch pattern[0] {
	case "#":
		return referenceTopicMatch(pattern[1:], key) ||
			(len(key) > 0 && referenceTopicMatch(pattern, key[1:]))
	case "*":
		return len(key) > 0 && referenceTopicMatch(pattern[1:], key[1:])
	}
	return len(key) > 0 && key[0] == pattern[0] && referenceTopicMatch(pattern[1:], key[1:])
}

// fuzzTopicText maps fuzz bytes onto a small alphabet so patterns and keys
// share words often enough to match; '|' separates patterns.
func fuzzTopicText(raw []byte, alphabet string, limit int) string {
	if len(raw) > limit {
		raw = raw[:limit]
	}
	var sb strings.Builder
	for _, c := range raw {
		sb.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return sb.String()
}

func FuzzTopicMatch(f *testing.F) {
	f.Add([]byte("#"), []byte(""))
	f.Add([]byte{0, 2, 4, 2, 3}, []byte{0, 2, 1})          // "a.#.*" vs "a.b"
	f.Add([]byte{4, 2, 0, 2, 4, 5, 3, 2, 4}, []byte{0, 0}) // "#.a.#|*.#" vs "aa"
	f.Add([]byte{2, 2, 5, 5, 4}, []byte{2})
	f.Fuzz(func(t *testing.T, rawPatterns, rawKey []byte) {
		patterns := strings.Split(fuzzTopicText(rawPatterns, "ab.*#|", 60), "|")
		key := fuzzTopicText(rawKey, "ab.*#", 24)
		keyWords := splitWords(key, nil)

		tb := NewTable()
		mustDeclare(t, tb, Exchange{Name: "t", Kind: Topic})
		check := func(live func(i int) bool) {
			var want []string
			for i, p := range patterns {
				if live(i) && referenceTopicMatch(splitWords(p, nil), keyWords) {
					want = append(want, fmt.Sprint("q", i))
				}
			}
			got := tb.Route("t", key, nil, nil)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("patterns %q key %q: Route = %q, reference = %q", patterns, key, got, want)
			}
		}
		for i, p := range patterns {
			mustBind(t, tb, "t", toQueue(fmt.Sprint("q", i), p))
		}
		check(func(int) bool { return true })
		// Removing bindings must leave the rest of the trie matching as before.
		for i, p := range patterns {
			if i%2 == 0 && !tb.Unbind("t", toQueue(fmt.Sprint("q", i), p)) {
				t.Fatalf("Unbind(%q) = false", p)
			}
		}
		check(func(i int) bool { return i%2 == 1 })
	})
}
