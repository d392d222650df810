package routing

import (
	"slices"
	"testing"
)

// mustDeclare declares exchanges or fails the test.
func mustDeclare(t testing.TB, tb *Table, exchanges ...Exchange) {
	t.Helper()
	for _, e := range exchanges {
		if err := tb.DeclareExchange(e); err != nil {
			t.Fatalf("DeclareExchange(%+v): %v", e, err)
		}
	}
}

// mustBind adds a binding that must be new.
func mustBind(t testing.TB, tb *Table, exchange string, b Binding) {
	t.Helper()
	added, err := tb.Bind(exchange, b)
	if err != nil {
		t.Fatalf("Bind(%q, %+v): %v", exchange, b, err)
	}
	if !added {
		t.Fatalf("Bind(%q, %+v) reported an existing binding", exchange, b)
	}
}

func toQueue(queue, key string) Binding { return Binding{Destination: queue, Key: key} }

func toExchange(exchange, key string) Binding {
	return Binding{Destination: exchange, ToExchange: true, Key: key}
}

// expectRoute routes and compares the exact result, order included.
func expectRoute(t *testing.T, tb *Table, exchange, key string, headers []Header, want ...string) {
	t.Helper()
	got := tb.Route(exchange, key, headers, nil)
	if !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
		t.Errorf("Route(%q, %q, %v) = %q, want %q", exchange, key, headers, got, want)
	}
}
