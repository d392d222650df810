package broker

import (
	"encoding/json"
	"errors"
	"sort"
)

// offsetSet is a set of offsets kept as sorted, disjoint half-open spans.
// Settlements mostly arrive in order, so a long run of settled offsets costs
// one span rather than one map entry each.
type offsetSet struct {
	spans []span
	// n is how many offsets the spans hold, kept so that count costs
	// nothing: a bounded queue counts its backlog on every append.
	n int64
}

type span struct{ from, to int64 } // [from, to)

func (s *offsetSet) contains(off int64) bool {
	i := sort.Search(len(s.spans), func(i int) bool { return s.spans[i].to > off })
	return i < len(s.spans) && s.spans[i].from <= off
}

// add inserts off and reports whether it was new.
func (s *offsetSet) add(off int64) bool {
	i := sort.Search(len(s.spans), func(i int) bool { return s.spans[i].to >= off })
	if i < len(s.spans) && s.spans[i].from <= off && off < s.spans[i].to {
		return false
	}
	switch {
	case i < len(s.spans) && s.spans[i].to == off:
		s.spans[i].to++
		if i+1 < len(s.spans) && s.spans[i+1].from == off+1 {
			s.spans[i].to = s.spans[i+1].to
			s.spans = append(s.spans[:i+1], s.spans[i+2:]...)
		}
	case i < len(s.spans) && s.spans[i].from == off+1:
		s.spans[i].from = off
	default:
		s.spans = append(s.spans, span{})
		copy(s.spans[i+1:], s.spans[i:])
		s.spans[i] = span{off, off + 1}
	}
	s.n++
	return true
}

// count returns how many offsets the set holds.
func (s *offsetSet) count() int64 { return s.n }

// countFrom returns how many offsets >= off the set holds.
func (s *offsetSet) countFrom(off int64) int64 {
	var n int64
	for _, sp := range s.spans {
		switch {
		case sp.from >= off:
			n += sp.to - sp.from
		case sp.to > off:
			n += sp.to - off
		}
	}
	return n
}

// advance drops everything below floor and, if the set then starts at floor,
// swallows that first span; it returns the new floor.
func (s *offsetSet) advance(floor int64) int64 {
	i := 0
	for i < len(s.spans) && s.spans[i].to <= floor {
		s.n -= s.spans[i].to - s.spans[i].from
		i++
	}
	s.spans = s.spans[i:]
	if len(s.spans) > 0 && s.spans[0].from <= floor {
		floor = s.spans[0].to
		s.n -= s.spans[0].to - s.spans[0].from
		s.spans = s.spans[1:]
	}
	if len(s.spans) == 0 {
		s.spans = nil
	}
	return floor
}

// removeFrom drops every offset at or above off and returns how many it
// dropped.
func (s *offsetSet) removeFrom(off int64) int64 {
	i := sort.Search(len(s.spans), func(i int) bool { return s.spans[i].to > off })
	if i == len(s.spans) {
		return 0
	}
	removed := s.n
	if s.spans[i].from < off {
		s.spans[i].to = off
		i++
	}
	s.spans = s.spans[:i]
	s.n = 0
	for _, sp := range s.spans {
		s.n += sp.to - sp.from
	}
	return removed - s.n
}

// addRange inserts every offset in [from, to) and returns how many were new.
func (s *offsetSet) addRange(from, to int64) int64 {
	if from >= to {
		return 0
	}
	i := sort.Search(len(s.spans), func(i int) bool { return s.spans[i].to >= from })
	j := i
	merged := span{from, to}
	added := to - from
	for ; j < len(s.spans) && s.spans[j].from <= to; j++ {
		added -= max(0, min(to, s.spans[j].to)-max(from, s.spans[j].from))
		merged.from = min(merged.from, s.spans[j].from)
		merged.to = max(merged.to, s.spans[j].to)
	}
	s.spans = append(s.spans[:i], append([]span{merged}, s.spans[j:]...)...)
	s.n += added
	return added
}

// settleAllBut adds every offset in [from, to) except those in keep (sorted
// ascending) and returns how many were new: a purge that spares deliveries
// still in flight.
func (s *offsetSet) settleAllBut(from, to int64, keep []int64) int64 {
	var n int64
	for _, k := range keep {
		if k < from || k >= to {
			continue
		}
		n += s.addRange(from, k)
		from = k + 1
	}
	return n + s.addRange(from, to)
}

// forEachGap calls fn for every offset in [from, to) not in the set, in
// order, until fn returns false. It steps over settled runs in one go.
func (s *offsetSet) forEachGap(from, to int64, fn func(off int64) bool) {
	i := sort.Search(len(s.spans), func(i int) bool { return s.spans[i].to > from })
	for off := from; off < to; {
		if i < len(s.spans) && s.spans[i].from <= off {
			off = s.spans[i].to
			i++
			continue
		}
		if !fn(off) {
			return
		}
		off++
	}
}

// MarshalJSON writes the set as [[from, to], ...] half-open pairs.
func (s offsetSet) MarshalJSON() ([]byte, error) {
	pairs := make([][2]int64, len(s.spans))
	for i, sp := range s.spans {
		pairs[i] = [2]int64{sp.from, sp.to}
	}
	return json.Marshal(pairs)
}

// UnmarshalJSON reads what MarshalJSON wrote, rejecting empty or
// overlapping pairs so that a damaged snapshot cannot corrupt the set.
func (s *offsetSet) UnmarshalJSON(b []byte) error {
	var pairs [][2]int64
	if err := json.Unmarshal(b, &pairs); err != nil {
		return err
	}
	*s = offsetSet{}
	for i, p := range pairs {
		if p[0] >= p[1] || (i > 0 && p[0] <= pairs[i-1][1]) {
			return errors.New("broker: malformed offset set")
		}
		s.spans = append(s.spans, span{p[0], p[1]})
		s.n += p[1] - p[0]
	}
	return nil
}

func (s *offsetSet) clone() offsetSet {
	return offsetSet{spans: append([]span(nil), s.spans...), n: s.n}
}
