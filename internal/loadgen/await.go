package loadgen

import (
	"context"
	"fmt"
	"time"
)

// awaitRetry is the pause between readiness probes: a timer, not a spin.
const awaitRetry = 50 * time.Millisecond

// Await measures a broker restart: it probes the protocol until the broker
// serves it and reports the time since since (when the broker was started).
func Await(ctx context.Context, cfg Config, meta Meta, since time.Time, timeout time.Duration) (Result, error) {
	res := Result{Workload: meta.Workload, System: meta.System, Config: cfg, Status: StatusError, StartedAt: since}
	w, err := newWorkload(cfg)
	if err != nil {
		res.Error = err.Error()
		return res, err
	}
	defer w.close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	retry := time.NewTimer(0)
	defer retry.Stop()
	var lastErr error
	for {
		select {
		case <-retry.C:
		case <-ctx.Done():
			err := fmt.Errorf("%s on %s not ready after %s: %v", cfg.Protocol, cfg.Addr, timeout, lastErr)
			res.Status, res.Error = StatusUnavailable, err.Error()
			return res, err
		}
		probeCtx, cancelProbe := context.WithTimeout(ctx, 5*time.Second)
		lastErr = w.probe(probeCtx)
		cancelProbe()
		if lastErr == nil {
			res.Status = StatusOK
			res.RestartSeconds = time.Since(since).Seconds()
			return res, nil
		}
		retry.Reset(awaitRetry)
	}
}
