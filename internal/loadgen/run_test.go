package loadgen

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// memWorkload is an in-memory broker: one channel per (queue, group), a
// publish confirmed on a separate goroutine, and an optional redelivery of
// every dupEvery-th message, so the run's accounting can be checked exactly.
type memWorkload struct {
	cfg       Config
	dupEvery  int64
	failSetup bool
	mu        sync.Mutex
	chans     map[[2]int]chan []byte
	sent      int64
	// sentBeforeConsumers is how many messages had been sent when the
	// first consumer was opened; -1 until then.
	sentBeforeConsumers int64
}

func newMemWorkload(cfg Config) *memWorkload {
	w := &memWorkload{cfg: cfg, chans: map[[2]int]chan []byte{}, sentBeforeConsumers: -1}
	for q := 0; q < cfg.Queues; q++ {
		for g := 0; g < cfg.Groups; g++ {
			w.chans[[2]int{q, g}] = make(chan []byte, 1<<16)
		}
	}
	return w
}

func (w *memWorkload) setup(context.Context) error {
	if w.failSetup {
		return errors.New("connection refused")
	}
	return nil
}
func (w *memWorkload) probe(context.Context) error { return nil }
func (w *memWorkload) close() error                { return nil }

type memProducer struct{ w *memWorkload }

func (w *memWorkload) newProducer(context.Context, int) (producer, error) { return memProducer{w}, nil }

func (p memProducer) send(_ context.Context, queue int, payload []byte, done func(error)) error {
	p.w.mu.Lock()
	p.w.sent++
	dup := p.w.dupEvery > 0 && p.w.sent%p.w.dupEvery == 0
	p.w.mu.Unlock()
	for g := 0; g < p.w.cfg.Groups; g++ {
		copied := append([]byte(nil), payload...)
		ch := p.w.chans[[2]int{queue, g}]
		ch <- copied
		if dup {
			ch <- copied
		}
	}
	go done(nil) // confirmations come from elsewhere, as from a socket reader
	return nil
}
func (memProducer) flush(context.Context) error { return nil }
func (memProducer) close() error                { return nil }

type memConsumer struct {
	feeds []chan []byte
}

func (w *memWorkload) newConsumer(_ context.Context, group, member int) (consumer, error) {
	w.mu.Lock()
	if w.sentBeforeConsumers < 0 {
		w.sentBeforeConsumers = w.sent
	}
	w.mu.Unlock()
	c := &memConsumer{}
	for _, q := range queuesOf(member, w.cfg.Consumers, w.cfg.Queues) {
		c.feeds = append(c.feeds, w.chans[[2]int{q, group}])
	}
	return c, nil
}

func (c *memConsumer) run(ctx context.Context, rec *Recorder) error {
	sources := make([]source[[]byte], 0, len(c.feeds))
	for _, feed := range c.feeds {
		sources = append(sources, func(ctx context.Context, emit func([]byte) bool) error {
			for {
				select {
				case m := <-feed:
					if !emit(m) {
						return nil
					}
				case <-ctx.Done():
					return nil
				}
			}
		})
	}
	return consumeSources(ctx, 16, sources, func(m []byte) error {
		rec.Record(m)
		return nil
	})
}
func (*memConsumer) close() error { return nil }

func memConfig() Config {
	cfg := DefaultConfig()
	cfg.Protocol, cfg.Addr = "redis", "memory"
	cfg.Size, cfg.InFlight, cfg.DrainTimeout = 64, 16, 5*time.Second
	return cfg
}

func TestRunCountsEveryMessageOnce(t *testing.T) {
	cfg := memConfig()
	cfg.Count, cfg.Producers, cfg.Consumers, cfg.Queues = 10_001, 3, 2, 2
	res, err := runWorkload(context.Background(), cfg, newMemWorkload(cfg), Result{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Produced != 10_001 || res.Confirmed != 10_001 || res.Consumed != 10_001 || res.Unique != 10_001 {
		t.Errorf("produced %d confirmed %d consumed %d unique %d, want 10001 each",
			res.Produced, res.Confirmed, res.Consumed, res.Unique)
	}
	if res.Duplicates != 0 || res.Missing != 0 || res.DrainTimedOut {
		t.Errorf("duplicates %d missing %d timed out %v on a perfect broker", res.Duplicates, res.Missing, res.DrainTimedOut)
	}
	if res.Latency.Count != 10_001 || res.MsgsPerSec <= 0 || res.BytesPerSec != res.MsgsPerSec*64 {
		t.Errorf("latency count %d, %v msg/s, %v B/s", res.Latency.Count, res.MsgsPerSec, res.BytesPerSec)
	}
}

func TestRunOneConsumerReadsManyQueues(t *testing.T) {
	cfg := memConfig()
	cfg.Count, cfg.Producers, cfg.Queues, cfg.Groups = 3000, 2, 3, 2
	res, err := runWorkload(context.Background(), cfg, newMemWorkload(cfg), Result{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Consumed != 6000 || res.Unique != 6000 || res.Missing != 0 || res.DrainTimedOut {
		t.Errorf("consumed %d unique %d missing %d timed out %v, want 3000 messages × 2 groups from 3 queues",
			res.Consumed, res.Unique, res.Missing, res.DrainTimedOut)
	}
}

func TestRunFanOutDeliversToEveryGroupAndSeesDuplicates(t *testing.T) {
	cfg := memConfig()
	// The drain ends at the last distinct message, so a redelivery of the
	// very last one could arrive after it and go uncounted: with 1001
	// messages the last is not redelivered, and every redelivery (queued
	// right behind its original) is consumed before the drain can end.
	cfg.Count, cfg.Groups = 1001, 5
	w := newMemWorkload(cfg)
	w.dupEvery = 10
	res, err := runWorkload(context.Background(), cfg, w, Result{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Unique != 5005 {
		t.Errorf("unique = %d, want 1001 messages × 5 groups", res.Unique)
	}
	if res.Duplicates != 500 {
		t.Errorf("duplicates = %d, want 100 redeliveries × 5 groups", res.Duplicates)
	}
	if res.Missing != 0 {
		t.Errorf("missing = %d", res.Missing)
	}
}

func TestRunBacklogStartsConsumersAfterPublishing(t *testing.T) {
	cfg := memConfig()
	cfg.Count, cfg.Backlog = 5000, true
	w := newMemWorkload(cfg)
	res, err := runWorkload(context.Background(), cfg, w, Result{})
	if err != nil {
		t.Fatal(err)
	}
	if w.sentBeforeConsumers != 5000 {
		t.Errorf("the first consumer opened after %d of 5000 messages were sent", w.sentBeforeConsumers)
	}
	if res.Consumed != 5000 || res.ConsumeMsgsPerSec <= 0 {
		t.Errorf("consumed %d at %v msg/s", res.Consumed, res.ConsumeMsgsPerSec)
	}
	// Nothing was consumed before publishing ended, so the newest message
	// waited at least as long as the drain took to reach it.
	if res.Latency.MaxUs <= 0 {
		t.Error("no latency recorded for the backlog")
	}
}

func TestRunAtFixedRateForADuration(t *testing.T) {
	cfg := memConfig()
	cfg.Duration, cfg.Rate, cfg.Producers = 300*time.Millisecond, 1000, 2
	res, err := runWorkload(context.Background(), cfg, newMemWorkload(cfg), Result{})
	if err != nil {
		t.Fatal(err)
	}
	// 1000 msg/s for 0.3 s is 300 messages, give or take the edges.
	if res.Produced < 270 || res.Produced > 320 {
		t.Errorf("produced %d at 1000 msg/s for 300ms, want about 300", res.Produced)
	}
	if res.Consumed != res.Confirmed {
		t.Errorf("consumed %d of %d confirmed", res.Consumed, res.Confirmed)
	}
}

func TestRunReportsAnUnreachableBroker(t *testing.T) {
	cfg := memConfig()
	cfg.Count = 10
	w := newMemWorkload(cfg)
	w.failSetup = true
	res, err := runWorkload(context.Background(), cfg, w, Result{})
	if err == nil || res.Status != StatusUnavailable {
		t.Errorf("status %q, err %v: want unavailable", res.Status, err)
	}
}
