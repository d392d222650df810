package broker

import "sort"

// offsetSet is a set of offsets kept as sorted, disjoint half-open spans.
// Settlements mostly arrive in order, so a long run of settled offsets costs
// one span rather than one map entry each.
type offsetSet struct {
	spans []span
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
	return true
}

// count returns how many offsets the set holds.
func (s *offsetSet) count() int64 {
	var n int64
	for _, sp := range s.spans {
		n += sp.to - sp.from
	}
	return n
}

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
		i++
	}
	s.spans = s.spans[i:]
	if len(s.spans) > 0 && s.spans[0].from <= floor {
		floor = s.spans[0].to
		s.spans = s.spans[1:]
	}
	if len(s.spans) == 0 {
		s.spans = nil
	}
	return floor
}
