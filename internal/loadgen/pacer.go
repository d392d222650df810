package loadgen

import (
	"context"
	"time"
)

// pacer decides when each message of one producer is meant to leave.
//
// At a fixed rate, message i is due at start + i/rate, whatever happened to
// the messages before it. Latency is measured from that intended time, so a
// broker that stalls the producer is charged for the messages that queued up
// behind the stall (no coordinated omission). With rate 0 every message is
// due immediately.
type pacer struct {
	start    time.Time
	interval float64 // nanoseconds between messages; 0 means as fast as possible
	now      func() time.Time
	timer    *time.Timer
}

func newPacer(start time.Time, ratePerSecond float64, now func() time.Time) *pacer {
	p := &pacer{start: start, now: now}
	if ratePerSecond > 0 {
		p.interval = float64(time.Second) / ratePerSecond
	}
	return p
}

// due returns the intended send time of message i.
func (p *pacer) due(i int64) time.Time {
	if p.interval == 0 {
		return p.now()
	}
	return p.start.Add(time.Duration(float64(i) * p.interval))
}

// wait blocks on a timer until t, calling beforeSleep first if it has to
// sleep at all (the producer flushes its batch then, so nothing buffered
// waits for the next tick). It returns early with ctx's error.
func (p *pacer) wait(ctx context.Context, t time.Time, beforeSleep func()) error {
	d := t.Sub(p.now())
	if d <= 0 {
		return ctx.Err()
	}
	if beforeSleep != nil {
		beforeSleep()
	}
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-p.timer.C:
		return nil
	case <-ctx.Done():
		p.timer.Stop()
		return ctx.Err()
	}
}

// perProducerRate splits a total rate evenly over producers.
func perProducerRate(total float64, producers int) float64 {
	if total <= 0 || producers < 1 {
		return 0
	}
	return total / float64(producers)
}
