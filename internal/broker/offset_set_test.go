package broker

import (
	"math/rand"
	"testing"
)

func TestOffsetSetMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var s offsetSet
	ref := map[int64]bool{}
	floor := int64(0)
	for i := 0; i < 5000; i++ {
		off := floor + rng.Int63n(200)
		if got, want := s.add(off), !ref[off]; got != want {
			t.Fatalf("add(%d) = %v, want %v", off, got, want)
		}
		ref[off] = true
		if rng.Intn(10) == 0 {
			newFloor := s.advance(floor)
			for ref[floor] {
				delete(ref, floor)
				floor++
			}
			if newFloor != floor {
				t.Fatalf("advance = %d, want %d", newFloor, floor)
			}
			for k := range ref {
				if k < floor {
					delete(ref, k)
				}
			}
		}
		for probe := floor; probe < floor+200; probe++ {
			if s.contains(probe) != ref[probe] {
				t.Fatalf("contains(%d) = %v, want %v (spans %v)", probe, !ref[probe], ref[probe], s.spans)
			}
		}
		if s.count() != int64(len(ref)) {
			t.Fatalf("count = %d, want %d", s.count(), len(ref))
		}
	}
	for i := 1; i < len(s.spans); i++ {
		if s.spans[i-1].to >= s.spans[i].from {
			t.Fatalf("spans overlap or touch: %v", s.spans)
		}
	}
}
