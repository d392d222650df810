package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gannet-mq/gannet/internal/batch"
	"github.com/gannet-mq/gannet/internal/storage"
)

// stream is one declared stream with its partitions and groups.
type stream struct {
	name string
	// cfg is read on every append and receive and replaced whole by
	// UpdateStream and AddPartitions (under Broker.mu), so readers need no
	// lock; read it with config.
	cfg atomic.Pointer[StreamConfig]
	dir string
	// parts is the stream's partitions. It only grows (AddPartitions), by
	// publishing a longer copy, so a reader that loaded it keeps a valid,
	// possibly shorter, view without a lock.
	parts atomic.Pointer[[]*partition]
	dedup *dedupWindow
	own   *group // a queue's own shared group; nil for topics
	// roundRobin spreads keyless messages over partitions.
	roundRobin atomic.Uint32

	groupsMu sync.Mutex
	groups   map[string]*group

	// growMu serialises AddPartitions calls on the stream.
	growMu sync.Mutex

	expiry streamExpiry
}

// partition is one log of a stream.
type partition struct {
	stream *stream
	index  int32
	log    *storage.Log
	// appendMu serialises the max-length check with the append it guards.
	appendMu sync.Mutex
	written  int64 // end of the last append made under appendMu

}

func streamDir(dataDir, name string) string {
	// Names may hold any byte; the directory is named by a hex form so that
	// "a/b" or ".." can never escape the data directory.
	return filepath.Join(dataDir, "streams", fmt.Sprintf("%x", name))
}

func (b *Broker) openStream(name string, cfg StreamConfig) (*stream, error) {
	s := &stream{
		name:   name,
		dir:    streamDir(b.opts.DataDir, name),
		groups: make(map[string]*group),
	}
	s.setConfig(cfg)
	if cfg.DedupWindow > 0 {
		s.dedup = newDedupWindow(cfg.DedupWindow)
	}
	opts := b.storageOptions()
	opts.RetentionAge = cfg.RetentionAge
	opts.RetentionBytes = cfg.RetentionBytes
	parts, err := s.openPartitions(0, cfg.Partitions, opts)
	if err != nil {
		return nil, err
	}
	s.parts.Store(&parts)
	return s, nil
}

// openPartitions opens the logs of partitions [from, to); on error it closes
// whatever it opened.
func (s *stream) openPartitions(from, to int, opts storage.Options) ([]*partition, error) {
	var parts []*partition
	closeAll := func() {
		for _, p := range parts {
			p.log.Close()
		}
	}
	for i := from; i < to; i++ {
		dir := filepath.Join(s.dir, strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			closeAll()
			return nil, fmt.Errorf("broker: creating %s: %w", dir, err)
		}
		log, err := storage.Open(dir, opts)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("broker: opening stream %q partition %d: %w", s.name, i, err)
		}
		parts = append(parts, &partition{stream: s, index: int32(i), log: log})
	}
	return parts, nil
}

func (s *stream) config() StreamConfig { return *s.cfg.Load() }

func (s *stream) setConfig(c StreamConfig) { s.cfg.Store(&c) }

// partitions returns the stream's partitions as they are now.
func (s *stream) partitions() []*partition {
	if p := s.parts.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *stream) closeLogs() {
	for _, p := range s.partitions() {
		p.log.Close()
	}
}

func (s *stream) removeLogs() error {
	for _, p := range s.partitions() {
		p.log.Close()
	}
	return os.RemoveAll(s.dir)
}

func (s *stream) stopTimers() {
	s.stopExpiry()
	s.groupsMu.Lock()
	defer s.groupsMu.Unlock()
	for _, g := range s.groups {
		g.stopTimers()
	}
}

func (s *stream) groupList() []*group {
	s.groupsMu.Lock()
	defer s.groupsMu.Unlock()
	out := make([]*group, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, g)
	}
	return out
}

// enforceRetention applies time and size retention to topics and settled
// retention to queues: a queue keeps only what its own group has not settled.
func (s *stream) enforceRetention(log *slog.Logger) {
	for _, p := range s.partitions() {
		if s.own != nil {
			floor := s.own.partsSnapshot()[p.index].settledFloor() // a queue's count never changes
			if floor > p.log.StartOffset() {
				if err := p.log.SetStartOffset(floor); err != nil {
					log.Warn("queue retention failed", "stream", s.name, "err", err)
				}
			}
			continue
		}
		if err := p.log.EnforceRetention(); err != nil {
			log.Warn("retention failed", "stream", s.name, "partition", p.index, "err", err)
		}
	}
}

// Partition is a handle for reading one partition of a stream directly
// (Kafka fetch, Redis XRANGE and XREAD, AMQP stream offsets).
type Partition struct{ p *partition }

// Partition returns a handle on partition i of stream name.
func (b *Broker) Partition(name string, i int32) (Partition, error) {
	s, err := b.stream(name)
	if err != nil {
		return Partition{}, err
	}
	parts := s.partitions()
	if i < 0 || int(i) >= len(parts) {
		return Partition{}, ErrNoSuchPartition
	}
	return Partition{parts[i]}, nil
}

// StartOffset is the first offset still retained.
func (p Partition) StartOffset() int64 { return p.p.log.StartOffset() }

// EndOffset is the offset the next record will get; readers see records below it.
func (p Partition) EndOffset() int64 { return p.p.log.EndOffset() }

// Changed returns a channel closed the next time EndOffset advances.
func (p Partition) Changed() <-chan struct{} { return p.p.log.Changed() }

// OffsetForTime returns the first offset whose timestamp is at or after ts.
func (p Partition) OffsetForTime(tsMillis int64) (int64, error) {
	off, err := p.p.log.OffsetForTime(tsMillis)
	return off, mapStorageErr(err)
}

// MaxTimestamp returns the largest record timestamp (unix ms) among the
// readable records, and false when there are none. OffsetForTime of it is
// the earliest record that carries it.
func (p Partition) MaxTimestamp() (int64, bool, error) {
	ts, ok, err := p.p.log.MaxTimestamp()
	return ts, ok, mapStorageErr(err)
}

// ReadRaw returns whole record batches from offset on, in the storage (and
// Kafka RecordBatch v2) format, for front-ends that serve bytes as they are.
func (p Partition) ReadRaw(from int64, maxBytes int) ([]byte, error) {
	raw, err := p.p.log.Read(from, maxBytes)
	return raw, mapStorageErr(err)
}

// Read returns up to max records from offset on, about maxBytes in all.
func (p Partition) Read(from int64, maxBytes, max int) ([]Record, error) {
	recs, err := p.p.log.ReadRecords(from, maxBytes, nil)
	if err != nil {
		return nil, mapStorageErr(err)
	}
	if max > 0 && len(recs) > max {
		recs = recs[:max]
	}
	out := make([]Record, len(recs))
	for i, r := range recs {
		out[i] = fromRecord(p.p.index, r)
	}
	return out, nil
}

// WaitFor blocks until a record at or after offset is readable or ctx ends.
func (p Partition) WaitFor(ctx context.Context, offset int64) error {
	for {
		ch := p.p.log.Changed()
		if p.p.log.EndOffset() > offset {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// SetStartOffset drops every record below offset (Kafka DeleteRecords, XTRIM).
func (p Partition) SetStartOffset(offset int64) error {
	return mapStorageErr(p.p.log.SetStartOffset(offset))
}

// readOne reads the record at offset, or reports ok=false if it is gone.
func (p *partition) readOne(offset int64, buf []batch.Record) (batch.Record, []batch.Record, bool, error) {
	recs, err := p.log.ReadRecords(offset, 1, buf[:0])
	if err != nil {
		if errors.Is(err, storage.ErrOffsetOutOfRange) {
			return batch.Record{}, recs, false, nil
		}
		return batch.Record{}, recs, false, err
	}
	for _, r := range recs {
		if r.Offset == offset {
			return r, recs, true, nil
		}
	}
	return batch.Record{}, recs, false, nil
}

// mapStorageErr turns storage's errors, which it wraps with detail, into the
// broker's own.
func mapStorageErr(err error) error {
	switch {
	case errors.Is(err, storage.ErrOffsetOutOfRange):
		return ErrOffsetOutOfRange
	case errors.Is(err, storage.ErrClosed):
		return ErrClosed
	}
	return err
}
