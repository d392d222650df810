package broker

import (
	"context"
	"testing"
	"time"
)

// TestPacerHoldsOnlyAPublisherOutrunningFastConsumers drives Hold on a
// real queue: the first check only records, a backlog under the limit or
// shrinking since the last check never holds, a stalled consumer makes
// pacing give up after PaceMaxPause, and a consumer that takes back what
// the publisher added releases it before then.
func TestPacerHoldsOnlyAPublisherOutrunningFastConsumers(t *testing.T) {
	b := openTestBroker(t)
	g := declareQueue(t, b, "paced", StreamConfig{})
	receive := func(n int) {
		if _, err := g.Receive(context.Background(), ReceiveOptions{Consumer: "c", Max: n}); err != nil {
			t.Error(err)
		}
	}
	const limit = 100
	// check is one pacing check after PaceCheckEvery publishes; it reports
	// how long the publisher was held.
	check := func(p *Pacer) time.Duration {
		t.Helper()
		if !p.Due(PaceCheckEvery) {
			t.Fatal("a check was not due after PaceCheckEvery publishes")
		}
		start := time.Now()
		p.Hold(limit, []Group{g})
		return time.Since(start)
	}
	off := func(p *Pacer) bool { o, _ := p.Off(); return o }

	// A stalled consumer: the first check records, the next one holds for
	// PaceMaxPause, sees nothing drained and turns pacing off.
	var stalled Pacer
	publishN(t, b, "paced", 150)
	if d := check(&stalled); d > PaceMaxPause/2 {
		t.Fatalf("the first check held %v", d)
	}
	publishN(t, b, "paced", 20)
	if d := check(&stalled); d < PaceMaxPause || !off(&stalled) {
		t.Fatalf("a stalled consumer: held %v (want at least %v), pacing off: %v", d, PaceMaxPause, off(&stalled))
	}
	if stalled.Due(PaceCheckEvery) {
		t.Fatal("a check was due while pacing is off")
	}

	// An old backlog the consumer works down is never held, though it is
	// over the limit and the consumer drains nothing more meanwhile.
	var working Pacer
	check(&working) // records 170
	receive(20)     // 150
	if d := check(&working); d > PaceMaxPause/2 || off(&working) {
		t.Fatalf("a shrinking backlog held %v (pacing off: %v)", d, off(&working))
	}

	// Under the limit: no hold.
	receive(100) // 50
	if d := check(&working); d > PaceMaxPause/2 || off(&working) {
		t.Fatalf("under the limit: held %v (pacing off: %v)", d, off(&working))
	}

	// Over the limit and grown: held until the consumer takes back the
	// growth, which it does well within PaceMaxPause.
	publishN(t, b, "paced", 60) // 110
	go func() {
		time.Sleep(2 * time.Millisecond)
		receive(60)
	}()
	// The queue itself says whether the consumer drained before Hold let
	// the publisher go.
	if d := check(&working); g.Ready() > 50 || off(&working) {
		t.Fatalf("over the limit: released after %v with %d ready (want at most 50), pacing off: %v", d, g.Ready(), off(&working))
	}
}

// TestPacerComparesOneGroupWithItself: a check compares the fullest
// group's backlog with that same group's at the last check. A publisher
// whose fullest group changes between checks (a channel publishing to
// several queues) is not held because a large old backlog elsewhere looks
// like growth; that check only records.
func TestPacerComparesOneGroupWithItself(t *testing.T) {
	b := openTestBroker(t)
	small, old := declareQueue(t, b, "small", StreamConfig{}), declareQueue(t, b, "old", StreamConfig{})
	publishN(t, b, "small", 10)
	publishN(t, b, "old", 170)
	const limit = 100
	var p Pacer
	if !p.Due(PaceCheckEvery) {
		t.Fatal("no check due")
	}
	p.Hold(limit, []Group{small}) // records small's backlog of 10
	if !p.Due(PaceCheckEvery) {
		t.Fatal("no check due")
	}
	// old's consumer drains nothing: had Hold compared 170 with small's
	// 10 it would hold for PaceMaxPause and turn pacing off.
	start := time.Now()
	p.Hold(limit, []Group{old})
	if d := time.Since(start); d > PaceMaxPause/2 {
		t.Fatalf("held %v when the fullest group changed since the last check", d)
	}
	if off, _ := p.Off(); off {
		t.Fatal("pacing turned off when the fullest group changed since the last check")
	}
}

// TestPacerComparesWithAnEmptyBacklog: a check that finds the group empty
// is a backlog of zero to compare the next one with, not nothing: a stalled
// consumer whose group then grows past the limit holds the publisher at the
// very next check.
func TestPacerComparesWithAnEmptyBacklog(t *testing.T) {
	b := openTestBroker(t)
	g := declareQueue(t, b, "drained", StreamConfig{})
	const limit = 100
	var p Pacer
	if !p.Due(PaceCheckEvery) {
		t.Fatal("no check due")
	}
	p.Hold(limit, []Group{g}) // records an empty backlog
	publishN(t, b, "drained", 120)
	if !p.Due(PaceCheckEvery) {
		t.Fatal("no check due")
	}
	start := time.Now()
	p.Hold(limit, []Group{g})
	d := time.Since(start)
	if off, _ := p.Off(); d < PaceMaxPause || !off {
		t.Fatalf("grown from empty past the limit with a stalled consumer: held %v (want at least %v), pacing off: %v", d, PaceMaxPause, off)
	}
}
