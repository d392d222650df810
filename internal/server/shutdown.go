package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
)

// Shutdown drains the server: /readyz turns 503, every listener stops
// accepting, front-ends and HTTP finish open requests until ctx ends and are
// then cut off, and finally the broker is closed, which fsyncs its logs.
// The broker is closed even when draining ran out of time, because an
// unclosed broker is the one outcome that can lose data. Shutdown on a
// server that never started, or a second time, does nothing.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != started {
		s.state = stopped
		return nil
	}
	s.state = stopped
	s.draining.Store(true)
	s.alarms.Stop()

	var (
		problems   []error
		problemsMu sync.Mutex
		drains     sync.WaitGroup
	)
	report := func(err error) {
		problemsMu.Lock()
		defer problemsMu.Unlock()
		problems = append(problems, err)
	}
	for _, f := range s.frontends {
		drains.Go(func() {
			if err := f.frontend.Shutdown(ctx); err != nil {
				report(fmt.Errorf("server: draining the %s front-end: %w", f.protocol, err))
			}
			// Make sure nothing is accepted any more, even from a
			// front-end that forgot to close its listener.
			if err := f.listener.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				report(fmt.Errorf("server: closing the %s listener: %w", f.protocol, err))
			}
		})
	}
	if s.httpServer != nil {
		drains.Go(func() {
			if err := s.httpServer.Shutdown(ctx); err != nil {
				// Out of time: cut whatever scrape or probe is still open.
				s.httpServer.Close()
				report(fmt.Errorf("server: draining HTTP: %w", err))
			}
		})
	}
	drains.Wait()

	served := make(chan struct{})
	go func() {
		s.serving.Wait()
		close(served)
	}()
	select {
	case <-served:
	case <-ctx.Done():
		report(fmt.Errorf("server: a listener was still serving when the shutdown timeout ended: %w", context.Cause(ctx)))
	}

	core := s.core.Swap(nil)
	if err := core.Close(); err != nil {
		report(fmt.Errorf("server: closing the broker (its last fsync may have failed; check the disk): %w", err))
	} else {
		s.logger.Info("broker closed", "data_dir", s.cfg.DataDir)
	}
	if len(problems) > 0 {
		s.logger.Error("shutdown was not clean", "error", errors.Join(problems...))
	}
	return errors.Join(problems...)
}
