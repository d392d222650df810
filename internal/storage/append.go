package storage

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/gannet-mq/gannet/internal/batch"
)

// Appended identifies one stored batch: offsets [Base, End).
type Appended struct {
	Base int64
	End  int64 // next offset after the batch
	log  *Log
}

// Wait blocks until the batch is durable (SyncAlways), the log fails, or ctx
// ends. In SyncInterval and SyncNever modes it returns at once. Once the log
// has failed, Wait reports ErrFailed for every batch that was not already
// durable.
func (a Appended) Wait(ctx context.Context) error {
	l := a.log
	if l == nil {
		return nil
	}
	if l.opts.Sync != SyncAlways {
		if l.failed.Load() {
			return l.failure()
		}
		return nil
	}
	for {
		if l.visibleEnd.Load() >= a.End {
			return nil
		}
		if l.failed.Load() {
			return l.failure()
		}
		ch := *l.synced.Load()
		// Re-check: the syncer publishes the new end before swapping the
		// channel, so either we see the end or ch is the one it closes.
		if l.visibleEnd.Load() >= a.End {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Append stores recs as one uncompressed batch and returns its offsets. A
// record with Timestamp 0 is stamped with Now(). The data is durable once
// Wait returns.
func (l *Log) Append(recs []batch.Record) (Appended, error) {
	return l.appendRecords(recs, true)
}

// appendRecords is Append; kick asks the syncer for a round (a Group's
// caller runs it instead).
func (l *Log) appendRecords(recs []batch.Record, kick bool) (Appended, error) {
	if len(recs) == 0 {
		return Appended{}, ErrEmpty
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.waitWritableLocked(); err != nil {
		return Appended{}, err
	}
	// Encode straight into the active segment's pending buffer, with the
	// offsets and leader epoch (0) the log stores.
	active := l.segments[len(l.segments)-1]
	start := len(active.pending)
	buf, err := batch.Append(active.pending, l.next, recs, batch.EncodeOptions{
		ProducerID: batch.NoProducer, ProducerEpoch: -1, BaseSequence: -1,
		ZeroTimestamp: l.opts.Now().UnixMilli(),
	})
	if err != nil {
		return Appended{}, fmt.Errorf("storage: encode batch: %w", err)
	}
	raw := buf[start:]
	h, _ := batch.ParseHeader(raw)
	seg, err := l.placeLocked(int64(len(raw)), h.LastOffsetDelta)
	if err != nil {
		return Appended{}, err
	}
	if seg == active {
		seg.pending = buf
	} else { // the batch opens a new segment; active.pending keeps its old length
		seg.pending = append(seg.pending, raw...)
	}
	return l.commitLocked(seg, h, int64(len(raw)), kick)
}

// AppendBatch stores a complete v2 batch from a Kafka producer, compressed or
// not. The batch is verified and its records decoded once to reject
// malformed input; then it is stored byte for byte except for the base
// offset (assigned here) and the partition leader epoch (always 0), neither
// of which the CRC covers, and the header's max timestamp: the time index
// and the readers trust it, so it becomes the largest of the records' own
// timestamps, and a batch claiming log-append time becomes a create-time
// one, as Kafka's LogValidator makes it on a CreateTime topic. The CRC is
// rewritten only then. raw itself is never changed.
func (l *Log) AppendBatch(raw []byte) (Appended, error) {
	return l.appendBatch(raw, true)
}

// appendBatch is AppendBatch; kick as for appendRecords.
func (l *Log) appendBatch(raw []byte, kick bool) (Appended, error) {
	h, rewritten, err := l.validateBatch(raw)
	if err != nil {
		return Appended{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.waitWritableLocked(); err != nil {
		return Appended{}, err
	}
	seg, err := l.placeLocked(int64(len(raw)), h.LastOffsetDelta)
	if err != nil {
		return Appended{}, err
	}
	start := len(seg.pending)
	seg.pending = append(seg.pending, raw...)
	stored := seg.pending[start:]
	batch.SetBaseOffset(stored, l.next)
	binary.BigEndian.PutUint32(stored[12:16], 0) // leader epoch; recovery expects 0
	if rewritten {
		batch.PutMaxTimestamp(stored, h) // CRC computed by validateBatch, outside the lock
	}
	return l.commitLocked(seg, h, int64(len(raw)), kick)
}

// validateBatch checks a producer's batch: Decode verifies its length and
// CRC and decodes every record, and the offsets must run base, base+1, ...
// It returns the header the batch is to be stored with, its max timestamp
// taken from the records; rewritten reports whether that differs from raw's.
func (l *Log) validateBatch(raw []byte) (h batch.BatchHeader, rewritten bool, err error) {
	d := l.decoders.Get().(*decoderState)
	defer func() {
		clear(d.recs) // do not pin the caller's buffer
		l.decoders.Put(d)
	}()
	return d.validate(raw)
}

// ValidateBatch checks a producer's batch as AppendBatch does, for a caller
// that must tell a corrupt batch from one it refuses for another reason
// before, or instead of, appending it. It returns an ErrInvalidBatch.
func ValidateBatch(raw []byte) error {
	var d decoderState
	defer d.dec.Close()
	_, _, err := d.validate(raw)
	return err
}

func (d *decoderState) validate(raw []byte) (h batch.BatchHeader, rewritten bool, err error) {
	var maxTS int64
	if d.recs, maxTS, err = d.dec.DecodeMaxTimestamp(raw, d.recs[:0]); err != nil {
		return h, false, fmt.Errorf("%w: %w", ErrInvalidBatch, err)
	}
	h, _ = batch.ParseHeader(raw) // cannot fail once Decode succeeded
	if h.RecordCount == 0 || int64(h.LastOffsetDelta) != int64(h.RecordCount)-1 {
		return h, false, fmt.Errorf("%w: %d records with last offset delta %d", ErrInvalidBatch, h.RecordCount, h.LastOffsetDelta)
	}
	for i := range d.recs {
		if d.recs[i].Offset != h.BaseOffset+int64(i) {
			return h, false, fmt.Errorf("%w: record %d has offset delta %d", ErrInvalidBatch, i, d.recs[i].Offset-h.BaseOffset)
		}
	}
	h, rewritten = batch.WithMaxTimestamp(raw, h, maxTS)
	return h, rewritten, nil
}

// waitWritableLocked blocks while too much data waits for the flusher and
// reports whether the log still takes appends.
func (l *Log) waitWritableLocked() error {
	for {
		if l.closed {
			return ErrClosed
		}
		if l.failErr != nil {
			return l.failErr
		}
		if l.pendingBytes < maxPendingBytes {
			return nil
		}
		// A Group's appends wake no syncer, and the caller that would run
		// their round may be this very goroutine, or stuck: ask for it.
		l.kickSyncer()
		l.space.Wait()
	}
}

// placeLocked returns the segment for the next batch, of n bytes and with
// last offset delta lastDelta: the active one, or a new one if the active
// one is full.
func (l *Log) placeLocked(n int64, lastDelta int32) (*segment, error) {
	seg := l.segments[len(l.segments)-1]
	lastRel := l.next - seg.base + int64(lastDelta)
	if seg.size > 0 && (seg.size+n > l.opts.SegmentBytes || lastRel > math.MaxUint32) {
		return l.rollLocked()
	}
	return seg, nil
}

// commitLocked takes the batch of n bytes just added to the end of
// seg.pending, with header h, at offset l.next: it indexes it, advances the
// log and hands it to the flusher (SyncAlways: to the syncer if kick is set).
func (l *Log) commitLocked(seg *segment, h batch.BatchHeader, n int64, kick bool) (Appended, error) {
	h.BaseOffset = l.next
	seg.noteBatch(h, seg.size, n, l.opts.IndexIntervalBytes)
	base := l.next
	l.next = seg.end
	l.pendingBytes += int(n)
	l.markDirtyLocked(seg)
	l.stats.appends++
	l.stats.records += int64(h.RecordCount)
	l.stats.bytes += n

	if l.opts.Sync == SyncAlways {
		// Without kick a Group's caller runs the round when it commits,
		// not when a commit-log round would wait for it: no announcement.
		if kick {
			if l.commitDir != nil && !l.announced {
				l.announced = true
				l.opts.CommitLog.announce()
			}
			l.kickSyncer()
		}
	} else if err := l.flushLocked(); err != nil {
		return Appended{}, err
	}
	return Appended{Base: base, End: l.next, log: l}, nil
}

func (l *Log) markDirtyLocked(s *segment) {
	if !s.inDirty {
		s.inDirty = true
		l.dirty = append(l.dirty, s)
	}
}

// rollLocked seals the active segment and starts a new one at l.next. The
// flusher finishes the sealed one (write, fsync, trim, index files).
func (l *Log) rollLocked() (*segment, error) {
	old := l.segments[len(l.segments)-1]
	s, err := l.createSegment(l.next)
	if err != nil {
		l.failLocked(err)
		return nil, l.failErr
	}
	old.sealed = true
	old.sealIndex()
	l.markDirtyLocked(old)
	s.needDirSync = true
	l.markDirtyLocked(s)
	l.segments = append(l.segments, s)
	return s, nil
}
