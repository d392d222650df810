package loadgen

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// rssSampler reads the broker's resident memory on a ticker while the run
// goes on, labelling each sample with the phase it fell in.
type rssSampler struct {
	phase   atomic.Pointer[string]
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	samples []RSSSample
}

func startSampler(ctx context.Context, pid int, every time.Duration, start time.Time) *rssSampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &rssSampler{cancel: cancel, done: make(chan struct{})}
	s.setPhase("setup")
	if pid <= 0 || every <= 0 {
		close(s.done)
		return s
	}
	go func() {
		defer close(s.done)
		ticker := time.NewTicker(every)
		defer ticker.Stop()
		s.take(pid, start)
		for {
			select {
			case <-ticker.C:
				s.take(pid, start)
			case <-ctx.Done():
				s.take(pid, start) // the memory at the end of the run, which a tick may have missed
				return
			}
		}
	}()
	return s
}

func (s *rssSampler) take(pid int, start time.Time) {
	sample, err := readProcStat(pid)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.samples = append(s.samples, RSSSample{Seconds: time.Since(start).Seconds(), Phase: *s.phase.Load(), RSSBytes: sample.RSSBytes})
	s.mu.Unlock()
}

func (s *rssSampler) setPhase(p string) { s.phase.Store(&p) }

// stop ends sampling, takes a last sample and returns them all.
func (s *rssSampler) stop() []RSSSample {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples
}
