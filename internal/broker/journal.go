package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/gannet-mq/gannet/internal/batch"
	"github.com/gannet-mq/gannet/internal/storage"
)

// journal is the broker's state log: every change to declarations, group
// positions and deliveries is one record in it, replayed at start. It rides
// on a storage.Log, so it has the same checksums, recovery and group commit
// as message data. Records queue in memory and one flusher writes whatever
// gathered while the previous fsync ran as one batch.
type journal struct {
	log *storage.Log

	mu                 sync.Mutex
	queued             []batch.Record
	queuedSeq          uint64 // sequence of the last record queued
	durableSeq         uint64 // sequence of the last record on disk
	failed             error
	wake               chan struct{} // tells the flusher there is work
	flushed            chan struct{} // closed (and replaced) after every flush
	closing            bool
	done               chan struct{}
	bytesSinceSnapshot int64
}

func newJournal(log *storage.Log) *journal {
	j := &journal{
		log:     log,
		wake:    make(chan struct{}, 1),
		flushed: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go j.flushLoop()
	return j
}

// add queues a record and returns its sequence number for wait. Callers that
// change in-memory state call add while still holding the lock that guards
// that state, so the journal's order is the state's order.
func (j *journal) add(kind byte, value []byte) uint64 {
	j.mu.Lock()
	j.queued = append(j.queued, batch.Record{Key: []byte{kind}, Value: value})
	j.queuedSeq++
	seq := j.queuedSeq
	j.bytesSinceSnapshot += int64(len(value)) + 16
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	return seq
}

// wait returns once the record numbered seq (and everything before it) is durable.
func (j *journal) wait(ctx context.Context, seq uint64) error {
	for {
		j.mu.Lock()
		if j.failed != nil {
			err := j.failed
			j.mu.Unlock()
			return err
		}
		if j.durableSeq >= seq {
			j.mu.Unlock()
			return nil
		}
		ch := j.flushed
		j.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sync waits until everything queued so far is durable.
func (j *journal) sync(ctx context.Context) error {
	j.mu.Lock()
	seq := j.queuedSeq
	j.mu.Unlock()
	return j.wait(ctx, seq)
}

func (j *journal) flushLoop() {
	defer close(j.done)
	for {
		j.mu.Lock()
		for len(j.queued) == 0 && !j.closing {
			j.mu.Unlock()
			<-j.wake
			j.mu.Lock()
		}
		if len(j.queued) == 0 && j.closing {
			j.mu.Unlock()
			return
		}
		recs := j.queued
		seq := j.queuedSeq
		j.queued = nil
		j.mu.Unlock()

		err := j.write(recs)

		j.mu.Lock()
		if err != nil && j.failed == nil {
			j.failed = fmt.Errorf("broker: state journal failed, restart the broker: %w", err)
		}
		if err == nil {
			j.durableSeq = seq
		}
		close(j.flushed)
		j.flushed = make(chan struct{})
		j.mu.Unlock()
	}
}

func (j *journal) write(recs []batch.Record) error {
	appended, err := j.log.Append(recs)
	if err != nil {
		return err
	}
	return appended.Wait(context.Background())
}

// close flushes what is queued and stops the flusher; the log stays open.
func (j *journal) close() {
	j.mu.Lock()
	j.closing = true
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	<-j.done
}

// replay calls apply for every record in the journal, oldest first.
func replayJournal(log *storage.Log, apply func(kind byte, value []byte) error) error {
	var recs []batch.Record
	for off := log.StartOffset(); off < log.EndOffset(); {
		var err error
		recs, err = log.ReadRecords(off, 1<<20, recs[:0])
		if err != nil {
			return fmt.Errorf("broker: reading state journal at %d: %w", off, err)
		}
		if len(recs) == 0 {
			return errors.New("broker: state journal read returned nothing before its end")
		}
		for _, r := range recs {
			if len(r.Key) != 1 {
				return fmt.Errorf("broker: state journal record %d has a bad kind", r.Offset)
			}
			if err := apply(r.Key[0], r.Value); err != nil {
				return fmt.Errorf("broker: state journal record %d: %w", r.Offset, err)
			}
			off = r.Offset + 1
		}
	}
	return nil
}
