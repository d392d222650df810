package loadgen

import (
	"context"
	"testing"
	"time"
)

func TestPacerSpacesMessagesFromTheStart(t *testing.T) {
	start := time.Unix(0, 0)
	p := newPacer(start, 1000, time.Now)
	for _, tc := range []struct {
		seq  int64
		want time.Duration
	}{{0, 0}, {1, time.Millisecond}, {1500, 1500 * time.Millisecond}} {
		if got := p.due(tc.seq).Sub(start); got != tc.want {
			t.Errorf("due(%d) = start+%s, want start+%s", tc.seq, got, tc.want)
		}
	}
}

func TestPacerSplitsTheRateOverProducers(t *testing.T) {
	if got := perProducerRate(20000, 8); got != 2500 {
		t.Errorf("perProducerRate(20000, 8) = %v, want 2500", got)
	}
	if got := perProducerRate(0, 8); got != 0 {
		t.Errorf("max rate must stay max rate, got %v", got)
	}
	start := time.Unix(0, 0)
	p := newPacer(start, perProducerRate(5000, 5), time.Now)
	if got := p.due(10).Sub(start); got != 10*time.Millisecond {
		t.Errorf("5000 msg/s over 5 producers: message 10 due at +%s, want +10ms", got)
	}
}

func TestPacerDoesNotSleepWhenBehind(t *testing.T) {
	now := time.Unix(100, 0)
	p := newPacer(now.Add(-time.Second), 10, func() time.Time { return now })
	slept := false
	// Message 3 was due 700 ms ago: no sleep, no flush, and the due time
	// (the latency origin) stays in the past.
	if err := p.wait(context.Background(), p.due(3), func() { slept = true }); err != nil {
		t.Fatal(err)
	}
	if slept {
		t.Error("the pacer flushed and slept for a message already due")
	}
	if d := now.Sub(p.due(3)); d != 700*time.Millisecond {
		t.Errorf("latency origin is %s before now, want 700ms", d)
	}
}

func TestPacerSleepsUntilDueAndFlushesFirst(t *testing.T) {
	p := newPacer(time.Now(), 50, time.Now)
	flushed := false
	before := time.Now()
	if err := p.wait(context.Background(), p.due(1), func() { flushed = true }); err != nil {
		t.Fatal(err)
	}
	if !flushed {
		t.Error("the pacer slept without flushing the producer's batch")
	}
	if waited := time.Since(before); waited < 15*time.Millisecond {
		t.Errorf("waited %s for a message due 20ms after start", waited)
	}
}

func TestPacerStopsWithItsContext(t *testing.T) {
	p := newPacer(time.Now(), 0.001, time.Now) // next message due in 1000 s
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.wait(ctx, p.due(1), nil); err == nil {
		t.Error("wait returned nil after its context was cancelled")
	}
}
