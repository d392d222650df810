// Package broker is Gannet's protocol-neutral core: streams split into
// partitions, queues, cursor and shared groups, exchanges and bindings,
// dead letters, delays, dedup and TTLs, all over the storage engine.
//
// Front-ends (AMQP, Kafka, Redis, SQS) translate their protocol into calls on
// *Broker and never reach storage directly. Lock order: Broker.mu before any
// groupPart.mu; code holding a groupPart.mu never takes Broker.mu.
package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gannet-mq/gannet/internal/broker/routing"
	"github.com/gannet-mq/gannet/internal/clock"
	"github.com/gannet-mq/gannet/internal/storage"
)

// Broker is the core. It is safe for concurrent use.
type Broker struct {
	opts    Options
	clock   clock.Clock
	log     *slog.Logger
	observe Observer
	journal *journal
	// commitLog takes the small rounds of every log (storage.CommitLog).
	commitLog *storage.CommitLog
	state     *storage.Log

	mu        sync.RWMutex
	streams   map[string]*stream
	groupIDs  map[uint32]*group
	nextGroup uint32
	routes    *routing.Table
	exchanges map[string]ExchangeConfig
	offsets   map[offsetKey]CommittedOffset
	closed    bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// Open recovers the broker's state from opts.DataDir and starts it.
func Open(opts Options) (*Broker, error) {
	if opts.DataDir == "" {
		return nil, &InvalidArgumentError{"data dir", "is required"}
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.DedupWindow <= 0 {
		opts.DedupWindow = DefaultDedupWindow
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	if err := os.MkdirAll(filepath.Join(opts.DataDir, "streams"), 0o755); err != nil {
		return nil, fmt.Errorf("broker: creating data dir: %w", err)
	}
	b := &Broker{
		opts:      opts,
		clock:     opts.Clock,
		log:       opts.Logger,
		observe:   opts.Observer,
		streams:   make(map[string]*stream),
		groupIDs:  make(map[uint32]*group),
		routes:    routing.NewTable(),
		exchanges: make(map[string]ExchangeConfig),
		offsets:   make(map[offsetKey]CommittedOffset),
		stop:      make(chan struct{}),
	}
	if err := b.recover(); err != nil {
		return nil, err
	}
	b.wg.Add(1)
	go b.maintain()
	return b, nil
}

func (b *Broker) storageOptions() storage.Options {
	o := storage.Options{
		SegmentBytes: b.opts.SegmentBytes,
		Now:          b.clock.Now,
		OnSync:       b.observe.Synced,
		CommitLog:    b.commitLog, // nil while the commit log itself opens
	}
	switch b.opts.Fsync {
	case FsyncInterval:
		o.Sync = storage.SyncInterval
		o.SyncInterval = b.opts.FsyncInterval
	case FsyncNever:
		o.Sync = storage.SyncNever
	}
	return o
}

// Close writes out what the state journal has queued and closes every log;
// the next Open replays the journal and checkpoints it.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	close(b.stop)
	b.wg.Wait()

	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for _, s := range b.streams {
		s.stopTimers()
	}
	b.journal.close()
	for _, s := range b.streams {
		for _, p := range s.partitions() {
			errs = append(errs, p.log.Close())
		}
	}
	errs = append(errs, b.state.Close())
	errs = append(errs, b.commitLog.Close()) // after every log that uses it
	return errors.Join(errs...)
}

// Ready reports nil while the broker serves.
func (b *Broker) Ready() error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	b.journal.mu.Lock()
	defer b.journal.mu.Unlock()
	return b.journal.failed
}

// SyncState waits until every settlement, commit and declaration made so far
// is on disk. Front-ends call it before replying to a request whose reply
// promises durability (XACK, DeleteMessage, OffsetCommit).
func (b *Broker) SyncState(ctx context.Context) error { return b.journal.sync(ctx) }

// A CommitGroup gathers the appends of one request that writes several
// partitions (AppendBatch) so that its caller makes them durable together,
// in its own goroutine, instead of each partition's syncer doing so: see
// storage.Group. It ends with Commit, or Release when nobody waits.
type CommitGroup struct{ g storage.Group }

// Commit makes the group's appends durable, or fails them: their receipts'
// Wait returns at once afterwards, except for a partition whose round
// another goroutine was running, which Wait still waits for.
func (g *CommitGroup) Commit() { g.g.Commit() }

// Release hands the group's appends to the partitions' syncers.
func (g *CommitGroup) Release() { g.g.Release() }

// maintain runs periodic work: retention, queue trimming, journal checkpoints.
func (b *Broker) maintain() {
	defer b.wg.Done()
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-ticker.C:
			b.enforceRetention()
			if err := b.checkpointIfDue(); err != nil {
				b.log.Error("state journal checkpoint failed", "err", err)
			}
		}
	}
}

func (b *Broker) enforceRetention() {
	b.mu.RLock()
	streams := make([]*stream, 0, len(b.streams))
	for _, s := range b.streams {
		streams = append(streams, s)
	}
	b.mu.RUnlock()
	for _, s := range streams {
		s.enforceRetention(b.log)
	}
}

func (b *Broker) now() time.Time { return b.clock.Now() }
