package loadgen

import (
	"math/bits"
	"sync"
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

func (s seqSet) count() (n int64) {
	for _, w := range s {
		n += int64(bits.OnesCount64(w))
	}
	return n
}

// groupLedger records which messages one consumer group has received. The
// members of a group share it, so a redelivery to another member is still
// known as a duplicate: the drain counts distinct messages, and a broker that
// hands a message to two members cannot end the drain early.
type groupLedger struct {
	mu   sync.Mutex
	seen map[uint32]*seqSet // by producer
}

func newGroupLedger() *groupLedger { return &groupLedger{seen: make(map[uint32]*seqSet)} }

// first marks the message and reports whether the group had not had it yet.
func (l *groupLedger) first(h header) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	set := l.seen[h.Producer]
	if set == nil {
		set = new(seqSet)
		l.seen[h.Producer] = set
	}
	return !set.add(h.Seq)
}

// unique is how many distinct messages the group received.
func (l *groupLedger) unique() (n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, set := range l.seen {
		n += set.count()
	}
	return n
}

// Recorder is owned by one consumer goroutine, so its own counters and
// histogram take no lock; only the group's ledger is shared. The run merges
// all recorders once consumers have stopped.
type Recorder struct {
	ledger    *groupLedger
	now       func() time.Time
	codec     payloadCodec
	histogram *hdrhistogram.Histogram
	consumed  int64
	malformed int64
	last      time.Time
	onConsume func() // tells the run one more distinct message arrived
}

func newRecorder(ledger *groupLedger, codec payloadCodec, now func() time.Time, onConsume func()) *Recorder {
	return &Recorder{ledger: ledger, now: now, codec: codec, histogram: newLatencyHistogram(), onConsume: onConsume}
}

// Record accounts for one consumed payload.
func (r *Recorder) Record(payload []byte) {
	now := r.now()
	h, err := r.codec.read(payload)
	if err != nil {
		r.malformed++
		return
	}
	r.consumed++
	r.last = now
	micros := now.Sub(time.Unix(0, h.SentUnixNano)).Microseconds()
	// Clock steps and clamping keep a value inside the histogram's range
	// rather than dropping the message from the latency figures.
	micros = min(max(micros, histogramLowestMicros), histogramHighestMicros)
	_ = r.histogram.RecordValue(micros)
	// Only first deliveries move the drain towards its target: counting
	// redeliveries would end the drain before every message had arrived.
	if r.ledger.first(h) && r.onConsume != nil {
		r.onConsume()
	}
}

// RecordString is Record for client libraries that hand bodies over as
// strings. Only the header is read, so only the header is copied, on the
// stack, rather than converting the whole body per message.
func (r *Recorder) RecordString(payload string) {
	var head [textHeaderSize]byte
	r.Record(head[:copy(head[:], payload)])
}

// Tally is the merged account of every consumer of a run.
type Tally struct {
	Consumed   int64     // deliveries, duplicates included, over all groups
	Unique     int64     // distinct messages summed over groups
	Duplicates int64     // deliveries of a message its group had already seen: Consumed - Unique
	Malformed  int64     // payloads without a readable header
	Last       time.Time // the latest consumption
	Histogram  *hdrhistogram.Histogram
}

// mergeRecorders folds recorders into one tally. Duplicates are counted per
// group: with fan-out every group is meant to receive every message once.
func mergeRecorders(recorders []*Recorder) Tally {
	t := Tally{Histogram: newLatencyHistogram()}
	ledgers := map[*groupLedger]bool{}
	for _, r := range recorders {
		t.Consumed += r.consumed
		t.Malformed += r.malformed
		t.Histogram.Merge(r.histogram)
		if r.last.After(t.Last) {
			t.Last = r.last
		}
		if !ledgers[r.ledger] {
			ledgers[r.ledger] = true
			t.Unique += r.ledger.unique()
		}
	}
	t.Duplicates = t.Consumed - t.Unique
	return t
}
