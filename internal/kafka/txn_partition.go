package kafka

import (
	"encoding/binary"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/batch"
	"github.com/gannet-mq/gannet/internal/broker"
)

// Per-partition transaction state: where each open transaction began (the
// last stable offset is the smallest of those) and the ranges of aborted
// transactions, which read_committed consumers skip. It is rebuilt from the
// log's batch headers and control records the first time a partition is
// read with read_committed or written transactionally after a restart;
// transactions still open in the log then are aborted, since their
// producers' coordinator state died with the process.

type abortedTxn struct {
	pid         int64
	first, last int64 // last is the abort marker's offset
}

type txnPartition struct {
	topic     string
	partition int32
	// load runs the scan once, without t.mu: a long log must not stall
	// every other partition's fetches and transactions. Everything that
	// appends transactional batches to the partition goes through load
	// first, so the scan sees them all; loaded says it is done, for the
	// readers that do not wait for it.
	load   sync.Once
	loaded atomic.Bool
	// After load, under t.mu:
	open    map[int64]int64 // producer id -> first offset of its open transaction
	aborted []abortedTxn    // ordered by last
}

// Control record types (the key's second int16).
const (
	controlAbort  = 0
	controlCommit = 1
)

// controlBatch encodes a transaction marker, stamped with the broker's
// clock (now) as Kafka stamps its markers.
func controlBatch(pid int64, epoch int16, commit bool, now time.Time) []byte {
	key := []byte{0, 0, 0, controlAbort}
	if commit {
		key[3] = controlCommit
	}
	value := []byte{0, 0, 0, 0, 0, 0} // version 0, coordinator epoch 0
	raw, err := batch.Append(nil, 0, []batch.Record{{Timestamp: now.UnixMilli(), Key: key, Value: value}}, batch.EncodeOptions{
		ProducerID: pid, ProducerEpoch: epoch, BaseSequence: -1, Transactional: true, Control: true,
	})
	if err != nil {
		panic("kafka: encoding a control batch: " + err.Error())
	}
	return raw
}

// entryLocked returns a partition's state, maybe not loaded yet; t.mu must
// be held.
func (t *txnCoordinator) entryLocked(topic string, partition int32, part broker.Partition) *txnPartition {
	tp := t.parts[part]
	if tp == nil {
		tp = &txnPartition{topic: topic, partition: partition, open: map[int64]int64{}}
		t.parts[part] = tp
	}
	return tp
}

// ensure loads a partition's state, scanning its log on first use; t.mu
// must not be held by the caller unless the state is already loaded or may
// be waited for under it (see partLocked).
func (t *txnCoordinator) ensure(tp *txnPartition, part broker.Partition) *txnPartition {
	tp.load.Do(func() {
		t.scan(tp, part)
		tp.loaded.Store(true)
	})
	return tp
}

// part returns a partition's loaded state; the scan, if one is needed,
// runs without t.mu.
func (t *txnCoordinator) part(topic string, partition int32, part broker.Partition) *txnPartition {
	t.mu.Lock()
	tp := t.entryLocked(topic, partition, part)
	t.mu.Unlock()
	return t.ensure(tp, part)
}

// partLocked returns a partition's loaded state with t.mu held. The scan
// never takes t.mu, so waiting for one here cannot deadlock; it only
// happens for a partition added to a transaction but never written, since
// produceTxn loads through part first.
func (t *txnCoordinator) partLocked(topic string, partition int32, part broker.Partition) *txnPartition {
	return t.ensure(t.entryLocked(topic, partition, part), part)
}

// forgetTopic drops the state of a deleted topic's partitions.
func (t *txnCoordinator) forgetTopic(topic string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, tp := range t.parts {
		if tp.topic == topic {
			delete(t.parts, k)
		}
	}
}

// scan rebuilds tp from the log. It runs once per partition, inside
// tp.load, and touches nothing but tp and the log.
func (t *txnCoordinator) scan(tp *txnPartition, part broker.Partition) {
	epochs := map[int64]int16{}
	eachBatch(part, part.StartOffset(), part.EndOffset(), func(h batch.BatchHeader, raw []byte) {
		if !h.Transactional() {
			return
		}
		if !h.Control() {
			if _, ok := tp.open[h.ProducerID]; !ok {
				tp.open[h.ProducerID] = h.BaseOffset
			}
			epochs[h.ProducerID] = h.ProducerEpoch
			return
		}
		recs, err := batch.Decode(raw, nil)
		if err != nil || len(recs) == 0 || len(recs[0].Key) < 4 {
			return
		}
		first, ok := tp.open[h.ProducerID]
		delete(tp.open, h.ProducerID)
		if ok && binary.BigEndian.Uint16(recs[0].Key[2:]) == controlAbort {
			tp.aborted = append(tp.aborted, abortedTxn{h.ProducerID, first, h.BaseOffset})
		}
	})
	for pid := range tp.open {
		t.abortPartition(tp, pid, epochs[pid])
	}
}

// abortPartition writes an abort marker for pid and records the range; the
// marker need not be durable before the range hides the data. t.mu must be
// held, or tp be inside its scan.
func (t *txnCoordinator) abortPartition(tp *txnPartition, pid int64, epoch int16) (broker.Receipt, error) {
	r, err := t.s.b.AppendBatch(nil, tp.topic, tp.partition, controlBatch(pid, epoch, false, t.s.now()))
	if err != nil {
		return r, err
	}
	if first, ok := tp.open[pid]; ok {
		tp.aborted = append(tp.aborted, abortedTxn{pid, first, r.Base})
	}
	delete(tp.open, pid)
	return r, nil
}

// lastStable is the partition's last stable offset: the first offset of
// its oldest open transaction, or end. A partition never read committed
// nor written transactionally since the start is not scanned for it.
func (t *txnCoordinator) lastStable(part broker.Partition, end int64) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return lastStableOf(t.parts[part], end)
}

func lastStableOf(tp *txnPartition, end int64) int64 {
	if tp == nil || !tp.loaded.Load() {
		return end
	}
	for _, first := range tp.open {
		end = min(end, first)
	}
	return end
}

// committedView loads a partition's state for a read_committed reader and
// returns its last stable offset.
func (t *txnCoordinator) committedView(topic string, partition int32, part broker.Partition) int64 {
	tp := t.part(topic, partition, part)
	t.mu.Lock()
	defer t.mu.Unlock()
	return lastStableOf(tp, part.EndOffset())
}

// aborted lists the aborted transactions overlapping [from, to).
func (t *txnCoordinator) aborted(part broker.Partition, from, to int64) []kmsg.FetchResponseTopicPartitionAbortedTransaction {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
	tp := t.parts[part]
	if tp == nil || !tp.loaded.Load() {
		return out
	}
	i := sort.Search(len(tp.aborted), func(i int) bool { return tp.aborted[i].last >= from })
	for ; i < len(tp.aborted); i++ {
		if a := tp.aborted[i]; a.first < to {
			at := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
			at.ProducerID, at.FirstOffset = a.pid, a.first
			out = append(out, at)
		}
	}
	return out
}
