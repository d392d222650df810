package loadgen

import (
	"math/bits"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds from 1 µs to 10 minutes with three
// significant digits: enough resolution for loopback p50s and room for the
// multi-second tails of an overloaded broker.
const (
	histogramLowestMicros  = 1
	histogramHighestMicros = int64(10 * time.Minute / time.Microsecond)
	histogramSigFigs       = 3
)

func newLatencyHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histogramLowestMicros, histogramHighestMicros, histogramSigFigs)
}

// seqSet is a growable bitset of the sequence numbers one producer's messages
// carried: one bit per message, so a million messages cost 125 KB.
type seqSet []uint64

// add marks seq and reports whether it was already marked.
func (s *seqSet) add(seq uint64) bool {
	word, bit := seq/64, seq%64
	for uint64(len(*s)) <= word {
		*s = append(*s, 0)
	}
	dup := (*s)[word]&(1<<bit) != 0
	(*s)[word] |= 1 << bit
	return dup
}

// union ORs other into s and returns how many bits both held.
func (s *seqSet) union(other seqSet) (overlap int64) {
	for uint64(len(*s)) < uint64(len(other)) {
		*s = append(*s, 0)
	}
	for i, w := range other {
		overlap += int64(bits.OnesCount64((*s)[i] & w))
		(*s)[i] |= w
	}
	return overlap
}

func (s seqSet) count() (n int64) {
	for _, w := range s {
		n += int64(bits.OnesCount64(w))
	}
	return n
}

// Recorder is owned by one consumer goroutine, so recording takes no lock;
// the run merges all recorders of a group once consumers have stopped.
type Recorder struct {
	group     int
	now       func() time.Time
	codec     payloadCodec
	histogram *hdrhistogram.Histogram
	seen      map[uint32]*seqSet
	consumed  int64
	dups      int64
	malformed int64
	first     time.Time
	last      time.Time
	onConsume func() // tells the run one more distinct message arrived
}

func newRecorder(group int, codec payloadCodec, now func() time.Time, onConsume func()) *Recorder {
	return &Recorder{
		group: group, now: now, codec: codec, histogram: newLatencyHistogram(),
		seen: make(map[uint32]*seqSet), onConsume: onConsume,
	}
}

// Record accounts for one consumed payload.
func (r *Recorder) Record(payload []byte) {
	now := r.now()
	h, err := r.codec.read(payload)
	if err != nil {
		r.malformed++
		return
	}
	if r.consumed == 0 {
		r.first = now
	}
	r.consumed++
	r.last = now
	set := r.seen[h.Producer]
	if set == nil {
		set = new(seqSet)
		r.seen[h.Producer] = set
	}
	duplicate := set.add(h.Seq)
	if duplicate {
		r.dups++
	}
	micros := now.Sub(time.Unix(0, h.SentUnixNano)).Microseconds()
	// Clock steps and clamping keep a value inside the histogram's range
	// rather than dropping the message from the latency figures.
	micros = min(max(micros, histogramLowestMicros), histogramHighestMicros)
	_ = r.histogram.RecordValue(micros)
	// Only first deliveries move the drain towards its target: counting
	// redeliveries would end the drain before every message had arrived.
	if r.onConsume != nil && !duplicate {
		r.onConsume()
	}
}

// Tally is the merged account of every consumer of a run.
type Tally struct {
	Consumed   int64 // deliveries, duplicates included, over all groups
	Unique     int64 // distinct messages summed over groups
	Duplicates int64 // deliveries of a message its group had already seen
	Malformed  int64 // payloads without a readable header
	First      time.Time
	Last       time.Time
	Histogram  *hdrhistogram.Histogram
}

// mergeRecorders folds recorders into one tally. Duplicates are counted per
// group: with fan-out every group is meant to receive every message once.
func mergeRecorders(recorders []*Recorder) Tally {
	t := Tally{Histogram: newLatencyHistogram()}
	perGroup := map[int]map[uint32]*seqSet{}
	for _, r := range recorders {
		t.Consumed += r.consumed
		t.Malformed += r.malformed
		t.Duplicates += r.dups
		t.Histogram.Merge(r.histogram)
		if r.consumed > 0 {
			if t.First.IsZero() || r.first.Before(t.First) {
				t.First = r.first
			}
			if r.last.After(t.Last) {
				t.Last = r.last
			}
		}
		group := perGroup[r.group]
		if group == nil {
			group = map[uint32]*seqSet{}
			perGroup[r.group] = group
		}
		for producer, set := range r.seen {
			merged := group[producer]
			if merged == nil {
				merged = new(seqSet)
				group[producer] = merged
			}
			t.Duplicates += merged.union(*set)
		}
	}
	for _, group := range perGroup {
		for _, set := range group {
			t.Unique += set.count()
		}
	}
	return t
}
