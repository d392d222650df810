package routing

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestDeclareExchange(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb, Exchange{Name: "x", Kind: Topic, Alternate: "ae"})
	if err := tb.DeclareExchange(Exchange{Name: "x", Kind: Topic, Alternate: "ae"}); err != nil {
		t.Errorf("equivalent redeclare: %v", err)
	}
	checks := []struct {
		e    Exchange
		want error
	}{
		{Exchange{Name: "x", Kind: Direct, Alternate: "ae"}, ErrKindMismatch},
		{Exchange{Name: "x", Kind: Topic}, ErrAlternateMismatch},
		{Exchange{Name: "y", Kind: "x-delayed-message"}, ErrUnknownKind},
		{Exchange{Name: "", Kind: Direct}, ErrDefaultExchange},
	}
	for _, c := range checks {
		if err := tb.DeclareExchange(c.e); !errors.Is(err, c.want) {
			t.Errorf("DeclareExchange(%+v) = %v, want %v", c.e, err, c.want)
		}
	}
	if _, ok := tb.Exchange("y"); ok {
		t.Error("an exchange of unknown kind was declared")
	}
	if got, ok := tb.Exchange("x"); !ok || got != (Exchange{Name: "x", Kind: Topic, Alternate: "ae"}) {
		t.Errorf("Exchange(x) = %+v, %v", got, ok)
	}
	if err := tb.SetAlternate("x", ""); err != nil {
		t.Fatal(err)
	}
	mustDeclare(t, tb, Exchange{Name: "x", Kind: Topic})
	if err := tb.SetAlternate("nope", "ae"); !errors.Is(err, ErrNoExchange) {
		t.Errorf("SetAlternate on a missing exchange = %v", err)
	}
	mustDeclare(t, tb, Exchange{Name: "a", Kind: Fanout})
	names := []string{}
	for _, e := range tb.Exchanges() {
		names = append(names, e.Name)
	}
	if !slices.Equal(names, []string{"a", "x"}) {
		t.Errorf("Exchanges() names = %q", names)
	}
}

func TestBindValidation(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb, Exchange{Name: "t", Kind: Topic}, Exchange{Name: "d", Kind: Direct})
	checks := []struct {
		exchange string
		b        Binding
		want     error
	}{
		{"missing", toQueue("q", "k"), ErrNoExchange},
		{"t", toExchange("missing", "k"), ErrNoExchange},
		{"t", toQueue("", "k"), ErrNoDestination},
		{"", toQueue("q", "k"), ErrDefaultExchange},
		{"t", toQueue("q", strings.Repeat("a", 256)), ErrKeyTooLong},
	}
	for _, c := range checks {
		if _, err := tb.Bind(c.exchange, c.b); !errors.Is(err, c.want) {
			t.Errorf("Bind(%q, %+v) = %v, want %v", c.exchange, c.b, err, c.want)
		}
	}
	if tb.HasBindings("t") {
		t.Error("a rejected binding was kept")
	}
	mustBind(t, tb, "t", toQueue("q", strings.Repeat("a", 255)))
	mustBind(t, tb, "d", toQueue("q", strings.Repeat("a", 1000))) // only topic keys are limited
}

func TestBindingIdentity(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb, Exchange{Name: "d", Kind: Direct}, Exchange{Name: "q", Kind: Fanout})
	mustBind(t, tb, "d", Binding{Destination: "q", Key: "k", Args: args("a", "1", "b", "2")})
	added, err := tb.Bind("d", Binding{Destination: "q", Key: "k", Args: args("b", "2", "a", "1")})
	if err != nil || added {
		t.Errorf("equal binding again: added=%v err=%v", added, err)
	}
	distinct := []Binding{
		{Destination: "q", Key: "k"},
		{Destination: "q", Key: "k", ToExchange: true},
		{Destination: "q", Key: "k", Args: args("a", "1")},
		{Destination: "q", Key: "k", Args: args("a", "1", "b", "")},
		{Destination: "q", Key: "k", Args: map[string][]byte{"a": []byte("1"), "b": nil}},
		{Destination: "qk", Key: ""}, // same bytes as q+k if fields were run together
		{Destination: "q", Key: "k", Args: args("a", "1b2")},
	}
	for _, b := range distinct {
		mustBind(t, tb, "d", b)
	}
	// An empty argument map is no arguments.
	if added, _ := tb.Bind("d", Binding{Destination: "q", Key: "k", Args: map[string][]byte{}}); added {
		t.Error("empty Args differs from nil Args")
	}
	if n := len(tb.Bindings("d")); n != 1+len(distinct) {
		t.Errorf("Bindings has %d entries, want %d", n, 1+len(distinct))
	}
	// Same is the identity the table uses.
	for i, a := range distinct {
		for j, b := range distinct {
			if a.Same(b) != (i == j) {
				t.Errorf("Same(%+v, %+v) = %v", a, b, a.Same(b))
			}
		}
	}
	if a, b := (Binding{Destination: "q", Args: args("a", "1", "b", "2")}), (Binding{Destination: "q", Args: args("b", "2", "a", "1")}); !a.Same(b) {
		t.Error("Same depends on argument order")
	}
}

func TestUnbind(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb, Exchange{Name: "d", Kind: Direct}, Exchange{Name: "h", Kind: Headers})
	mustBind(t, tb, "d", toQueue("q1", "k"))
	mustBind(t, tb, "d", toQueue("q2", "k"))
	mustBind(t, tb, "h", Binding{Destination: "q1", Args: args("a", "1")})
	if tb.Unbind("d", toQueue("q1", "other")) || tb.Unbind("missing", toQueue("q1", "k")) {
		t.Error("Unbind removed a binding that does not exist")
	}
	if !tb.Unbind("d", toQueue("q1", "k")) {
		t.Fatal("Unbind(q1) = false")
	}
	if tb.Unbind("d", toQueue("q1", "k")) {
		t.Error("second Unbind(q1) = true")
	}
	expectRoute(t, tb, "d", "k", nil, "q2")
	if !tb.Unbind("d", toQueue("q2", "k")) || tb.HasBindings("d") {
		t.Error("exchange still has bindings after removing all")
	}
	if len(tb.exchanges["d"].byKey) != 0 {
		t.Error("direct index keeps an empty key")
	}
	if !tb.Unbind("h", Binding{Destination: "q1", Args: args("a", "1")}) {
		t.Error("headers Unbind = false")
	}
	expectRoute(t, tb, "h", "", hdrs("a", "1"))
	if got := tb.BindingsTo("q1", false); len(got) != 0 {
		t.Errorf("BindingsTo(q1) after unbinding = %+v", got)
	}
}

func TestBindingsAreCopies(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb, Exchange{Name: "h", Kind: Headers})
	a := args("a", "1")
	mustBind(t, tb, "h", Binding{Destination: "q", Args: a})
	a["a"][0] = '9'
	a["b"] = []byte("2")
	expectRoute(t, tb, "h", "", hdrs("a", "1"), "q")
	listed := tb.Bindings("h")
	listed[0].Args["a"][0] = '7'
	listed[0].Args["c"] = nil
	if got := tb.Bindings("h")[0].Args; len(got) != 1 || string(got["a"]) != "1" {
		t.Errorf("stored args changed through a listing: %q", got)
	}
	expectRoute(t, tb, "h", "", hdrs("a", "1"), "q")
}

func TestListingsInCreationOrder(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb, Exchange{Name: "t", Kind: Topic}, Exchange{Name: "f", Kind: Fanout})
	mustBind(t, tb, "t", toQueue("q", "z.#"))
	mustBind(t, tb, "f", toQueue("q", ""))
	mustBind(t, tb, "t", toQueue("q", "a.*"))
	mustBind(t, tb, "t", toExchange("f", "b"))
	var keys []string
	for _, b := range tb.Bindings("t") {
		keys = append(keys, b.Key)
	}
	if !slices.Equal(keys, []string{"z.#", "a.*", "b"}) {
		t.Errorf("Bindings(t) keys = %q", keys)
	}
	want := []SourcedBinding{
		{Exchange: "t", Binding: toQueue("q", "z.#")},
		{Exchange: "f", Binding: toQueue("q", "")},
		{Exchange: "t", Binding: toQueue("q", "a.*")},
	}
	got := tb.BindingsTo("q", false)
	if !slices.EqualFunc(got, want, func(a, b SourcedBinding) bool {
		return a.Exchange == b.Exchange && a.Binding.Key == b.Binding.Key && a.Binding.Destination == b.Binding.Destination
	}) {
		t.Errorf("BindingsTo(q) = %+v", got)
	}
	if got := tb.BindingsTo("f", true); len(got) != 1 || got[0].Exchange != "t" {
		t.Errorf("BindingsTo(f, exchange) = %+v", got)
	}
	if tb.Bindings("missing") != nil {
		t.Error("Bindings of a missing exchange is not nil")
	}
}

func TestRemoveQueue(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb,
		Exchange{Name: "d", Kind: Direct},
		Exchange{Name: "t", Kind: Topic},
		Exchange{Name: "f", Kind: Fanout},
		Exchange{Name: "h", Kind: Headers},
	)
	mustBind(t, tb, "d", toQueue("gone", "k"))
	mustBind(t, tb, "d", toQueue("kept", "k"))
	mustBind(t, tb, "t", toQueue("gone", "a.#"))
	mustBind(t, tb, "t", toQueue("gone", "#"))
	mustBind(t, tb, "f", toQueue("gone", ""))
	mustBind(t, tb, "h", Binding{Destination: "gone"})
	mustBind(t, tb, "f", toExchange("t", "")) // an exchange, not the queue
	mustBind(t, tb, "t", toQueue("kept", "a.b"))

	if n := tb.RemoveQueue("gone"); n != 5 {
		t.Errorf("RemoveQueue = %d, want 5", n)
	}
	if n := tb.RemoveQueue("gone"); n != 0 {
		t.Errorf("second RemoveQueue = %d", n)
	}
	expectRoute(t, tb, "d", "k", nil, "kept")
	expectRoute(t, tb, "f", "a.b", nil, "kept")
	expectRoute(t, tb, "h", "", nil)
	if tb.HasBindings("h") || !tb.HasBindings("f") {
		t.Error("HasBindings wrong after RemoveQueue")
	}
	if len(tb.BindingsTo("gone", false)) != 0 {
		t.Error("BindingsTo still lists the removed queue")
	}
	tb.RemoveQueue("kept")
	if !tb.exchanges["t"].topic.isEmpty() {
		t.Error("topic trie not pruned after RemoveQueue")
	}
}

func TestDeleteExchange(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb,
		Exchange{Name: "up", Kind: Fanout},
		Exchange{Name: "x", Kind: Topic},
		Exchange{Name: "down", Kind: Direct},
		Exchange{Name: "uses-x-as-ae", Kind: Direct, Alternate: "x"},
	)
	mustBind(t, tb, "up", toExchange("x", ""))
	mustBind(t, tb, "up", toQueue("q-up", ""))
	mustBind(t, tb, "x", toQueue("q-x", "#"))
	mustBind(t, tb, "x", toExchange("down", "#"))
	mustBind(t, tb, "x", toExchange("x", "#")) // to itself
	mustBind(t, tb, "down", toQueue("q-down", "k"))
	expectRoute(t, tb, "up", "k", nil, "q-x", "q-down", "q-up")

	if err := tb.DeleteExchange("x"); err != nil {
		t.Fatal(err)
	}
	if err := tb.DeleteExchange("x"); !errors.Is(err, ErrNoExchange) {
		t.Errorf("second DeleteExchange = %v", err)
	}
	expectRoute(t, tb, "up", "k", nil, "q-up")
	expectRoute(t, tb, "x", "k", nil)
	if got := tb.Bindings("up"); len(got) != 1 || got[0].Destination != "q-up" {
		t.Errorf("Bindings(up) = %+v", got)
	}
	for _, dest := range []struct {
		name string
		ex   bool
	}{{"q-x", false}, {"down", true}, {"x", true}} {
		if got := tb.BindingsTo(dest.name, dest.ex); len(got) != 0 {
			t.Errorf("BindingsTo(%q) after delete = %+v", dest.name, got)
		}
	}
	if len(tb.incoming) != 2 { // q-up and q-down
		t.Errorf("destination index has %d entries, want 2", len(tb.incoming))
	}
	if e, _ := tb.Exchange("uses-x-as-ae"); e.Alternate != "x" {
		t.Error("deleting an exchange changed another exchange's alternate")
	}
	// The name is free for another kind; nothing of the old exchange remains.
	mustDeclare(t, tb, Exchange{Name: "x", Kind: Direct})
	expectRoute(t, tb, "uses-x-as-ae", "k", nil)
	mustBind(t, tb, "x", toQueue("new", "k"))
	expectRoute(t, tb, "uses-x-as-ae", "k", nil, "new")
	if !tb.HasBindings("x") || tb.HasBindings("missing") {
		t.Error("HasBindings wrong")
	}
}
