package broker

import (
	"encoding/json"
	"fmt"
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

func TestOffsetSetRangesAndGapsMatchMap(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	var s offsetSet
	ref := map[int64]bool{}
	for i := 0; i < 3000; i++ {
		from := rng.Int63n(300)
		to := from + rng.Int63n(20)
		if rng.Intn(2) == 0 {
			want := int64(0)
			for o := from; o < to; o++ {
				if !ref[o] {
					want++
					ref[o] = true
				}
			}
			if got := s.addRange(from, to); got != want {
				t.Fatalf("addRange(%d,%d) = %d, want %d", from, to, got, want)
			}
		} else {
			var keep []int64
			for o := from; o < to; o++ {
				if rng.Intn(4) == 0 {
					keep = append(keep, o)
				}
			}
			want := int64(0)
			k := 0
			for o := from; o < to; o++ {
				if k < len(keep) && keep[k] == o {
					k++
					continue
				}
				if !ref[o] {
					want++
					ref[o] = true
				}
			}
			if got := s.settleAllBut(from, to, keep); got != want {
				t.Fatalf("settleAllBut(%d,%d,%v) = %d, want %d", from, to, keep, got, want)
			}
		}
		if rng.Intn(20) == 0 {
			off := rng.Int63n(330)
			want := int64(0)
			for o := range ref {
				if o >= off {
					want++
					delete(ref, o)
				}
			}
			if got := s.removeFrom(off); got != want {
				t.Fatalf("removeFrom(%d) = %d, want %d", off, got, want)
			}
		}
		var gaps []int64
		s.forEachGap(0, 330, func(o int64) bool { gaps = append(gaps, o); return true })
		var wantGaps []int64
		for o := int64(0); o < 330; o++ {
			if !ref[o] {
				wantGaps = append(wantGaps, o)
			}
		}
		if fmt.Sprint(gaps) != fmt.Sprint(wantGaps) {
			t.Fatalf("gaps %v, want %v (spans %v)", gaps, wantGaps, s.spans)
		}
		for j, sp := range s.spans {
			if sp.from >= sp.to {
				t.Fatalf("empty span: %v", s.spans)
			}
			if j > 0 && s.spans[j-1].to >= sp.from {
				t.Fatalf("spans overlap or touch: %v", s.spans)
			}
		}
		if s.count() != int64(len(ref)) {
			t.Fatalf("count = %d, want %d", s.count(), len(ref))
		}
	}
	if c := s.clone(); c.count() != s.count() {
		t.Fatalf("clone count = %d, want %d", c.count(), s.count())
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back offsetSet
	if err := json.Unmarshal(b, &back); err != nil || fmt.Sprint(back.spans) != fmt.Sprint(s.spans) {
		t.Fatalf("JSON round trip: %v %v", back.spans, err)
	}
	if back.count() != s.count() {
		t.Fatalf("count after JSON round trip = %d, want %d", back.count(), s.count())
	}
	if json.Unmarshal([]byte(`[[5,3]]`), &back) == nil || json.Unmarshal([]byte(`[[1,4],[3,6]]`), &back) == nil {
		t.Fatal("malformed spans accepted")
	}
}
