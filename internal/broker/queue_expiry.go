package broker

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gannet-mq/gannet/internal/clock"
)

// streamExpiry deletes a stream left unused for StreamConfig.Expires
// (RabbitMQ's x-expires): no consumer, no receive and no redeclaration for
// that long. Publishing is not use, as in RabbitMQ. The idle period starts
// again when the broker restarts, as it does for RabbitMQ's classic queues.
type streamExpiry struct {
	lastUsed atomic.Int64 // Unix ms of the last use
	mu       sync.Mutex
	timer    clock.Timer
	stopped  bool
}

// touch records a use of the stream.
func (s *stream) touch(now time.Time) {
	if s.config().Expires > 0 {
		s.expiry.lastUsed.Store(now.UnixMilli())
	}
}

// armExpiry starts the idle timer of a stream with Expires; the caller has
// just declared or recovered it.
func (b *Broker) armExpiry(s *stream) {
	expires := s.config().Expires
	if expires <= 0 {
		return
	}
	s.touch(b.now())
	b.scheduleExpiry(s, expires)
}

func (b *Broker) scheduleExpiry(s *stream, after time.Duration) {
	s.expiry.mu.Lock()
	defer s.expiry.mu.Unlock()
	if s.expiry.stopped {
		return
	}
	s.expiry.timer = b.clock.AfterFunc(after, func() { b.expireIfUnused(s) })
}

func (s *stream) stopExpiry() {
	s.expiry.mu.Lock()
	defer s.expiry.mu.Unlock()
	s.expiry.stopped = true
	if s.expiry.timer != nil {
		s.expiry.timer.Stop()
	}
}

// applyLiveSettings puts changed settings of an open stream into effect:
// retention in its logs, byte counting for a new MaxLengthBytes, the idle
// timer for a new Expires. The caller holds b.mu.
func (b *Broker) applyLiveSettings(s *stream, old StreamConfig) {
	cfg := s.config()
	if cfg.RetentionAge != old.RetentionAge || cfg.RetentionBytes != old.RetentionBytes {
		for _, p := range s.partitions() {
			p.log.SetRetention(cfg.RetentionAge, cfg.RetentionBytes)
		}
	}
	if cfg.MaxLengthBytes > 0 && old.MaxLengthBytes <= 0 {
		if err := s.trackQueueBytes(); err != nil {
			b.opts.Logger.Warn("counting queue bytes failed", "stream", s.name, "err", err)
		}
	}
	if cfg.Expires > 0 && old.Expires <= 0 {
		b.armExpiry(s)
	}
}

// expireIfUnused deletes s if it has been idle for its whole Expires period,
// and otherwise checks again when the period could next be over.
// An UpdateStream that removed Expires leaves the stream alone.
func (b *Broker) expireIfUnused(s *stream) {
	expires := s.config().Expires
	if expires <= 0 {
		return
	}
	now := b.now()
	if s.own != nil && s.own.consumerCount() > 0 {
		s.touch(now) // a consumer is use; the idle period starts when it leaves
	}
	idle := now.Sub(time.UnixMilli(s.expiry.lastUsed.Load()))
	if idle < expires {
		b.scheduleExpiry(s, expires-idle)
		return
	}
	if err := b.deleteStream(s.name, s); err != nil && !errors.Is(err, ErrNotFound) {
		b.opts.Logger.Warn("deleting an expired stream failed", "stream", s.name, "err", err)
	}
}
