package routing

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestRouteDirect(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb, Exchange{Name: "d", Kind: Direct})
	mustBind(t, tb, "d", toQueue("q2", "orders"))
	mustBind(t, tb, "d", toQueue("q1", "orders"))
	mustBind(t, tb, "d", toQueue("q3", "payments"))
	mustBind(t, tb, "d", toQueue("q4", ""))
	expectRoute(t, tb, "d", "orders", nil, "q2", "q1")
	expectRoute(t, tb, "d", "payments", nil, "q3")
	expectRoute(t, tb, "d", "", nil, "q4")
	expectRoute(t, tb, "d", "orders.eu", nil)
	expectRoute(t, tb, "d", "Orders", nil)
}

func TestRouteFanoutIgnoresKey(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb, Exchange{Name: "f", Kind: Fanout})
	mustBind(t, tb, "f", toQueue("b", "x"))
	mustBind(t, tb, "f", toQueue("a", ""))
	mustBind(t, tb, "f", toQueue("b", "y")) // same queue, second binding
	expectRoute(t, tb, "f", "anything", nil, "b", "a")
	expectRoute(t, tb, "f", "", nil, "b", "a")
}

func TestRouteUnknownExchangeKeepsDst(t *testing.T) {
	tb := NewTable()
	dst := []string{"earlier"}
	if got := tb.Route("missing", "k", nil, dst); !slices.Equal(got, []string{"earlier"}) {
		t.Errorf("Route on a missing exchange = %q", got)
	}
}

func TestRouteAppendsAfterExistingDst(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb, Exchange{Name: "f", Kind: Fanout})
	mustBind(t, tb, "f", toQueue("a", ""))
	mustBind(t, tb, "f", toQueue("b", ""))
	dst := make([]string, 1, 8)
	dst[0] = "earlier"
	got := tb.Route("f", "", nil, dst)
	if want := []string{"earlier", "a", "b"}; !slices.Equal(got, want) {
		t.Errorf("Route = %q, want %q", got, want)
	}
}

func TestRouteExchangeToExchangeWithCycle(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb,
		Exchange{Name: "in", Kind: Topic},
		Exchange{Name: "mid", Kind: Fanout},
		Exchange{Name: "out", Kind: Direct},
	)
	mustBind(t, tb, "in", toQueue("q-in", "a.*"))
	mustBind(t, tb, "in", toExchange("mid", "a.#"))
	mustBind(t, tb, "mid", toQueue("q-mid", ""))
	mustBind(t, tb, "mid", toExchange("out", ""))
	mustBind(t, tb, "mid", toExchange("in", "")) // cycle back
	mustBind(t, tb, "out", toQueue("q-out", "a.b"))
	mustBind(t, tb, "out", toExchange("mid", "a.b")) // second cycle
	mustBind(t, tb, "out", toQueue("q-in", "a.b"))   // reached twice
	mustBind(t, tb, "in", toExchange("in", "#"))     // self binding

	expectRoute(t, tb, "in", "a.b", nil, "q-in", "q-mid", "q-out")
	expectRoute(t, tb, "mid", "a.b", nil, "q-mid", "q-out", "q-in")
	expectRoute(t, tb, "in", "z", nil)
	expectRoute(t, tb, "out", "zzz", nil)
}

func TestRouteAlternateExchange(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb,
		Exchange{Name: "orders", Kind: Direct, Alternate: "unrouted"},
		Exchange{Name: "unrouted", Kind: Fanout},
	)
	mustBind(t, tb, "orders", toQueue("eu", "eu"))
	mustBind(t, tb, "unrouted", toQueue("dead", ""))
	expectRoute(t, tb, "orders", "eu", nil, "eu")
	expectRoute(t, tb, "orders", "us", nil, "dead")
}

func TestRouteAlternateChainAndCycle(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb,
		Exchange{Name: "a", Kind: Direct, Alternate: "b"},
		Exchange{Name: "b", Kind: Topic, Alternate: "c"},
		Exchange{Name: "c", Kind: Fanout, Alternate: "a"}, // back to the start
	)
	mustBind(t, tb, "b", toQueue("qb", "only.this"))
	expectRoute(t, tb, "a", "only.this", nil, "qb")
	expectRoute(t, tb, "a", "other", nil) // a -> b -> c -> (a seen): ends
	mustBind(t, tb, "c", toQueue("qc", ""))
	expectRoute(t, tb, "a", "other", nil, "qc")
	// An alternate that does not exist is skipped, as in RabbitMQ.
	if err := tb.SetAlternate("c", "never-declared"); err != nil {
		t.Fatal(err)
	}
	expectRoute(t, tb, "b", "x", nil, "qc")
}

// RabbitMQ uses the alternate only when the exchange's own bindings match
// nothing: a matched binding to an exchange that reaches no queue still counts.
func TestRouteAlternateSkippedWhenBindingToExchangeMatched(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb,
		Exchange{Name: "front", Kind: Direct, Alternate: "ae"},
		Exchange{Name: "empty", Kind: Direct},
		Exchange{Name: "ae", Kind: Fanout},
	)
	mustBind(t, tb, "ae", toQueue("dead", ""))
	mustBind(t, tb, "front", toExchange("empty", "k"))
	expectRoute(t, tb, "front", "k", nil)
	expectRoute(t, tb, "front", "other", nil, "dead")
}

func TestRouteAlternateOfDownstreamExchange(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb,
		Exchange{Name: "front", Kind: Fanout},
		Exchange{Name: "back", Kind: Direct, Alternate: "ae"},
		Exchange{Name: "ae", Kind: Fanout},
	)
	mustBind(t, tb, "front", toExchange("back", ""))
	mustBind(t, tb, "front", toQueue("audit", ""))
	mustBind(t, tb, "back", toQueue("known", "known"))
	mustBind(t, tb, "ae", toQueue("dead", ""))
	mustBind(t, tb, "ae", toQueue("audit", "")) // already reached
	expectRoute(t, tb, "front", "known", nil, "known", "audit")
	expectRoute(t, tb, "front", "unknown", nil, "dead", "audit")
}

func TestRouteDedupManyQueues(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb, Exchange{Name: "f1", Kind: Fanout}, Exchange{Name: "f2", Kind: Fanout})
	var want []string
	for i := range 40 {
		q := fmt.Sprint("q", i)
		want = append(want, q)
		mustBind(t, tb, "f1", toQueue(q, ""))
	}
	for i := 39; i >= 0; i-- {
		mustBind(t, tb, "f2", toQueue(fmt.Sprint("q", i), ""))
	}
	mustBind(t, tb, "f2", toQueue("extra", ""))
	mustBind(t, tb, "f1", toExchange("f2", ""))
	expectRoute(t, tb, "f1", "", nil, append(want, "extra")...)
}

func TestRouteAllocatesNothingForTypicalPublish(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb,
		Exchange{Name: "d", Kind: Direct},
		Exchange{Name: "t", Kind: Topic},
		Exchange{Name: "h", Kind: Headers},
	)
	mustBind(t, tb, "d", toQueue("q1", "k"))
	mustBind(t, tb, "d", toExchange("t", "k"))
	mustBind(t, tb, "t", toQueue("q2", "k.#"))
	mustBind(t, tb, "t", toQueue("q3", "#.k"))
	mustBind(t, tb, "t", toExchange("h", "*"))
	mustBind(t, tb, "h", Binding{Destination: "q4", Args: args("a", "1")})
	headers := hdrs("a", "1")
	dst := make([]string, 0, 8)
	allocs := testing.AllocsPerRun(100, func() {
		dst = tb.Route("d", "k", headers, dst[:0])
	})
	// Topic order: literal "k" then "*" then "#" at the first word.
	if want := []string{"q1", "q2", "q4", "q3"}; !slices.Equal(dst, want) {
		t.Fatalf("Route = %q, want %q", dst, want)
	}
	if allocs != 0 {
		t.Errorf("Route allocated %.1f times per call", allocs)
	}
}

// Route must only read the table; run with -race to check.
func TestRouteConcurrentReaders(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb, Exchange{Name: "t", Kind: Topic}, Exchange{Name: "f", Kind: Fanout})
	for i := range 50 {
		mustBind(t, tb, "t", toQueue(fmt.Sprint("q", i), fmt.Sprintf("#.a.#.%d", i%5)))
		mustBind(t, tb, "f", toQueue(fmt.Sprint("q", i), ""))
	}
	mustBind(t, tb, "t", toExchange("f", "x.#.y"))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if got := tb.Route("t", "a.b.a.3", nil, nil); len(got) != 10 {
					t.Errorf("Route = %d queues, want 10", len(got))
					return
				}
				if got := tb.Route("t", "x.a.y", nil, nil); len(got) != 50 {
					t.Errorf("Route = %d queues, want 50", len(got))
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestRouteLongKeysAndChains(t *testing.T) {
	tb := NewTable()
	mustDeclare(t, tb, Exchange{Name: "t", Kind: Topic})
	mustBind(t, tb, "t", toQueue("last-z", "#.z"))
	mustBind(t, tb, "t", toQueue("second-b", "*.b.#"))
	// 16 words fit the router's inline buffer, 17 do not.
	for _, words := range []int{15, 16, 17, 40} {
		key := strings.Repeat("a.", words-1) + "z"
		expectRoute(t, tb, "t", key, nil, "last-z")
	}
	expectRoute(t, tb, "t", "a.b"+strings.Repeat(".c", 30)+".z", nil, "second-b", "last-z")

	// A chain of more exchanges than the router keeps inline, ending in a cycle.
	const chain = 20
	for i := range chain {
		mustDeclare(t, tb, Exchange{Name: fmt.Sprint("x", i), Kind: Fanout})
	}
	for i := range chain {
		mustBind(t, tb, fmt.Sprint("x", i), toQueue(fmt.Sprint("q", i), ""))
		mustBind(t, tb, fmt.Sprint("x", i), toExchange(fmt.Sprint("x", (i+1)%chain), ""))
	}
	// The last exchange reached also points back at the 11th, past the inline buffer.
	mustBind(t, tb, "x4", toExchange("x15", "back"))
	got := tb.Route("x5", "", nil, nil)
	if len(got) != chain || got[0] != "q5" || got[chain-1] != "q4" {
		t.Errorf("chain Route = %q", got)
	}
}
