package routing

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchVocab gives keys of four words drawn from vocabularies of different
// sizes per position, like region.service.entity.event.
var benchVocab = [4]int{20, 50, 100, 30}

func benchKey(rng *rand.Rand) string {
	words := make([]string, len(benchVocab))
	for i, n := range benchVocab {
		words[i] = fmt.Sprintf("w%d_%d", i, rng.IntN(n))
	}
	return strings.Join(words, ".")
}

// benchPattern is a key with one word in ten replaced by "*" and, one time in
// twenty at each later word, the rest replaced by "#", as subscribers write
// them.
func benchPattern(rng *rand.Rand) string {
	words := strings.Split(benchKey(rng), ".")
	for i := range words {
		switch r := rng.IntN(20); {
		case r < 2:
			words[i] = "*"
		case r == 2 && i > 0:
			return strings.Join(append(words[:i:i], "#"), ".")
		}
	}
	return strings.Join(words, ".")
}

// benchSelectivePattern is a full key with one word in twenty replaced by "*":
// each message matches few bindings, so the benchmark measures the trie walk
// rather than the delivery of hundreds of matches.
func benchSelectivePattern(rng *rand.Rand) string {
	words := strings.Split(benchKey(rng), ".")
	for i := range words {
		if rng.IntN(20) == 0 {
			words[i] = "*"
		}
	}
	return strings.Join(words, ".")
}

func benchmarkTopic(b *testing.B, bindings int, pattern func(*rand.Rand) string) {
	rng := rand.New(rand.NewPCG(1, uint64(bindings)))
	tb := NewTable()
	mustDeclare(b, tb, Exchange{Name: "t", Kind: Topic})
	for i := range bindings {
		if _, err := tb.Bind("t", toQueue(fmt.Sprint("q", i), pattern(rng))); err != nil {
			b.Fatal(err)
		}
	}
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = benchKey(rng)
	}
	dst := make([]string, 0, 64)
	matched := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		dst = tb.Route("t", keys[i%len(keys)], nil, dst[:0])
		matched += len(dst)
	}
	b.ReportMetric(float64(matched)/float64(b.N), "queues/op")
}

func BenchmarkRouteTopic1k(b *testing.B)   { benchmarkTopic(b, 1_000, benchPattern) }
func BenchmarkRouteTopic100k(b *testing.B) { benchmarkTopic(b, 100_000, benchPattern) }

func BenchmarkRouteTopic100kSelective(b *testing.B) {
	benchmarkTopic(b, 100_000, benchSelectivePattern)
}

func BenchmarkRouteDirect10k(b *testing.B) {
	tb := NewTable()
	mustDeclare(b, tb, Exchange{Name: "d", Kind: Direct})
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = fmt.Sprint("orders.created.", i)
		if _, err := tb.Bind("d", toQueue(fmt.Sprint("q", i), keys[i])); err != nil {
			b.Fatal(err)
		}
	}
	dst := make([]string, 0, 4)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		dst = tb.Route("d", keys[i%len(keys)], nil, dst[:0])
		if len(dst) != 1 {
			b.Fatalf("routed to %d queues", len(dst))
		}
	}
}

func BenchmarkRouteHeaders100(b *testing.B) {
	tb := NewTable()
	mustDeclare(b, tb, Exchange{Name: "h", Kind: Headers})
	for i := range 100 {
		mode := "all"
		if i%2 == 1 {
			mode = "any"
		}
		a := args("x-match", mode, "region", fmt.Sprint("r", i%10), "tier", fmt.Sprint("t", i%3))
		if _, err := tb.Bind("h", Binding{Destination: fmt.Sprint("q", i), Args: a}); err != nil {
			b.Fatal(err)
		}
	}
	headers := hdrs("content-type", "json", "region", "r3", "tier", "t1", "x-trace", "abc")
	dst := make([]string, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		dst = tb.Route("h", "", headers, dst[:0])
	}
}
