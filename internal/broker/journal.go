package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
	"github.com/gannet-mq/gannet/internal/storage"
)

// journal is the broker's state log: every change to declarations, group
// positions and deliveries is one record in it, replayed at start. It rides
// on a storage.Log, so it has the same checksums, recovery and group commit
// as message data. Records queue in memory and one flusher writes whatever
// gathered while the previous fsync ran as one batch.
//
// When nobody waits for the records queued (an AMQP basic.ack, a delivery:
// changes no reply depends on), the flusher lingers up to journalLinger
// before writing them, so that a stream of acks costs fsyncs about 2 ms
// apart instead of one after another: the device's flushes are
// shared with the message data, whose confirms wait for them. A wait (every
// change that has a reply: declarations, purges, XACK, DeleteMessage,
// OffsetCommit) ends the linger at once.
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
	wanted             uint64        // the highest seq a wait has asked for
	hurry              chan struct{} // ends a linger: a waiter came, or close
	linger             time.Duration // journalLinger; tests set it
}

// journalLinger bounds how long records nobody waits for stay queued. A
// crash in that time loses them as it would lose an ack still in flight:
// the deliveries they settle come back, flagged redelivered if the record
// of the delivery itself was written.
const journalLinger = 2 * time.Millisecond

func newJournal(log *storage.Log) *journal {
	j := &journal{
		log:     log,
		wake:    make(chan struct{}, 1),
		hurry:   make(chan struct{}, 1),
		linger:  journalLinger,
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
	signal(j.wake)
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
		j.wanted = max(j.wanted, seq)
		j.mu.Unlock()
		signal(j.hurry)
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// signal wakes whoever receives from ch, unless a wake-up is pending.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
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
		// Linger unless a wait asked for a queued record. A count of
		// waiters would be stale here: the ones the last round released
		// have not left yet. A wait given up costs one round its linger.
		if j.wanted <= j.durableSeq && !j.closing {
			j.lingerLocked()
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

// lingerLocked waits, with j.mu released, until j.linger has passed or
// a waiter or close hurries it. A hurry left from before is dropped first,
// under the lock: waits that asked by then were seen by the caller, and any
// later one signals after this.
func (j *journal) lingerLocked() {
	select {
	case <-j.hurry:
	default:
	}
	t := time.NewTimer(j.linger) // read under the lock: tests set it
	j.mu.Unlock()
	select {
	case <-j.hurry:
	case <-t.C:
	}
	t.Stop()
	j.mu.Lock()
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
	signal(j.wake)
	signal(j.hurry)
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
