package loadgen

import (
	"testing"
	"time"
)

// stampAt returns a binary payload sent at sent by producer/seq.
func stampAt(sent time.Time, producer uint32, seq uint64) []byte {
	codec := payloadCodec{}
	buf := codec.newPayload(32)
	codec.stamp(buf, header{SentUnixNano: sent.UnixNano(), Producer: producer, Seq: seq})
	return buf
}

func TestRecorderCountsDuplicatesPerGroup(t *testing.T) {
	base := time.Unix(1000, 0)
	now := base.Add(time.Millisecond)
	clock := func() time.Time { return now }
	group0 := newGroupLedger()
	g0a := newRecorder(group0, payloadCodec{}, clock, nil)
	g0b := newRecorder(group0, payloadCodec{}, clock, nil)
	g1 := newRecorder(newGroupLedger(), payloadCodec{}, clock, nil)
	for seq := uint64(0); seq < 100; seq++ {
		g1.Record(stampAt(base, 0, seq)) // group 1 sees every message once
		if seq%2 == 0 {
			g0a.Record(stampAt(base, 0, seq))
		} else {
			g0b.Record(stampAt(base, 0, seq))
		}
	}
	g0a.Record(stampAt(base, 0, 5)) // redelivered to another member of group 0
	g0a.Record(stampAt(base, 0, 6)) // redelivered to the same member
	g0b.Record(stampAt(base, 7, 0)) // another producer: not a duplicate
	g0b.Record([]byte("short"))     // malformed

	tally := mergeRecorders([]*Recorder{g0a, g0b, g1})
	if tally.Consumed != 203 {
		t.Errorf("consumed = %d, want 203", tally.Consumed)
	}
	if tally.Duplicates != 2 {
		t.Errorf("duplicates = %d, want 2 (one across members, one within a member; none across groups)", tally.Duplicates)
	}
	if tally.Unique != 201 {
		t.Errorf("unique = %d, want 201 (100 + 1 in group 0, 100 in group 1)", tally.Unique)
	}
	if tally.Malformed != 1 {
		t.Errorf("malformed = %d, want 1", tally.Malformed)
	}
	if tally.Histogram.TotalCount() != 203 {
		t.Errorf("histogram holds %d values, want one per consumed message", tally.Histogram.TotalCount())
	}
}

func TestMergedHistogramPercentiles(t *testing.T) {
	base := time.Unix(2000, 0)
	var now time.Time
	clock := func() time.Time { return now }
	group := newGroupLedger()
	a := newRecorder(group, payloadCodec{}, clock, nil)
	b := newRecorder(group, payloadCodec{}, clock, nil)
	// 1..1000 µs split over two recorders: p50 500 µs, p99 990 µs, max 1000 µs.
	for i := 1; i <= 1000; i++ {
		now = base.Add(time.Duration(i) * time.Microsecond)
		r := a
		if i%3 == 0 {
			r = b
		}
		r.Record(stampAt(base, 0, uint64(i)))
	}
	lat := summarize(mergeRecorders([]*Recorder{a, b}).Histogram)
	check := func(name string, got, want int64) {
		t.Helper()
		// Three significant digits: within 0.1% (and 1 µs).
		if d := got - want; d < -1-want/1000 || d > 1+want/1000 {
			t.Errorf("%s = %d µs, want %d", name, got, want)
		}
	}
	check("p50", lat.P50us, 500)
	check("p99", lat.P99us, 990)
	check("p99.9", lat.P999us, 999)
	check("max", lat.MaxUs, 1000)
	if lat.Count != 1000 {
		t.Errorf("count = %d, want 1000", lat.Count)
	}
}

func TestRecorderClampsLatencyIntoRange(t *testing.T) {
	sent := time.Unix(3000, 0)
	now := sent.Add(-time.Second) // the consumer's clock is behind the producer's
	r := newRecorder(newGroupLedger(), payloadCodec{}, func() time.Time { return now }, nil)
	r.Record(stampAt(sent, 0, 0))
	if got := r.histogram.TotalCount(); got != 1 {
		t.Fatalf("a negative latency was dropped: %d values recorded", got)
	}
	if got := r.histogram.Max(); got > 1 {
		t.Errorf("negative latency recorded as %d µs, want the 1 µs floor", got)
	}
}

func TestSeqSetAddReportsWhatItHolds(t *testing.T) {
	var a seqSet
	for _, s := range []uint64{0, 63, 64, 1000} {
		if a.add(s) {
			t.Errorf("%d reported present before it was added", s)
		}
	}
	overlap := 0
	for _, s := range []uint64{63, 1000, 5000} {
		if a.add(s) {
			overlap++
		}
	}
	if overlap != 2 {
		t.Errorf("overlap = %d, want 2", overlap)
	}
	if n := a.count(); n != 5 {
		t.Errorf("set holds %d sequences, want 5", n)
	}
	if !a.add(5000) {
		t.Error("5000 is in the set but add reported it new")
	}
}

// The drain ends on the count onConsume keeps, so that count must be of
// distinct messages per group even when a redelivery reaches another member.
func TestRecorderSignalsEachMessageOncePerGroup(t *testing.T) {
	base := time.Unix(4000, 0)
	clock := func() time.Time { return base }
	var firsts int
	count := func() { firsts++ }
	ledger0 := newGroupLedger()
	group0 := []*Recorder{newRecorder(ledger0, payloadCodec{}, clock, count), newRecorder(ledger0, payloadCodec{}, clock, count)}
	group1 := []*Recorder{newRecorder(newGroupLedger(), payloadCodec{}, clock, count)}
	for seq := uint64(0); seq < 10; seq++ {
		group0[0].Record(stampAt(base, 0, seq))
		group1[0].Record(stampAt(base, 0, seq))
	}
	for seq := uint64(0); seq < 5; seq++ {
		group0[1].Record(stampAt(base, 0, seq)) // redelivered to the other member
		group0[0].Record(stampAt(base, 0, seq)) // and to the same one
	}
	if firsts != 20 {
		t.Errorf("onConsume called %d times, want 20 (10 messages × 2 groups)", firsts)
	}
	tally := mergeRecorders(append(group0, group1...))
	if tally.Consumed != 30 || tally.Unique != 20 || tally.Duplicates != 10 {
		t.Errorf("consumed %d unique %d duplicates %d, want 30, 20, 10", tally.Consumed, tally.Unique, tally.Duplicates)
	}
}
