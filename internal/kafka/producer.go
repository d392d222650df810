package kafka

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gannet-mq/gannet/internal/batch"
	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/storage"
)

// Idempotent producers. Each partition remembers, per producer id, the
// epoch and the last few batches' sequence ranges (Kafka keeps five, which
// is what a producer may have in flight). A batch that repeats one of them
// is acknowledged again with its first offset and not written; a batch that
// does not follow the last sequence is refused with OUT_OF_ORDER_SEQUENCE.
//
// The state is rebuilt after a restart from the batch headers at the tail
// of each partition (producer id, epoch and base sequence are in every
// stored batch), the first time a producer writes to the partition.

// rememberedBatches is how many batches per producer and partition are kept
// for duplicate detection; franz-go and the Java client keep at most 5 in
// flight.
const rememberedBatches = 5

// tailScanRecords bounds the rebuild scan of a partition after a restart.
const tailScanRecords = 8192

type seqBatch struct {
	first, last int32
	base        int64
	receipt     broker.Receipt // the original append, for a duplicate to wait on
}

type producerState struct {
	epoch   int16
	batches [rememberedBatches]seqBatch
	n, next int // how many are kept, where the next goes
}

func (p *producerState) remember(b seqBatch) {
	p.batches[p.next] = b
	p.next = (p.next + 1) % rememberedBatches
	p.n = min(p.n+1, rememberedBatches)
}

func (p *producerState) last() seqBatch {
	return p.batches[(p.next+rememberedBatches-1)%rememberedBatches]
}

type partProducers struct {
	topic  string
	mu     sync.Mutex // held across the sequence check and the append
	loaded bool
	byID   map[int64]*producerState
}

type producers struct {
	b          *broker.Broker
	nextID     atomic.Int64
	duplicates atomic.Int64 // batches acknowledged again instead of written

	mu    sync.Mutex
	parts map[broker.Partition]*partProducers
}

func newProducers(b *broker.Broker) *producers {
	p := &producers{b: b, parts: make(map[broker.Partition]*partProducers)}
	// Ids must not repeat across restarts without being persisted: start
	// from the clock in microseconds, far above any id handed out before.
	// The wall clock, not the injected one: a fake clock restarts at the
	// same time and would hand out the same ids again.
	p.nextID.Store(time.Now().UnixMicro())
	return p
}

func (p *producers) newID() int64 { return p.nextID.Add(1) }

func (p *producers) partition(topic string, part broker.Partition) *partProducers {
	p.mu.Lock()
	defer p.mu.Unlock()
	pp, ok := p.parts[part]
	if !ok {
		pp = &partProducers{topic: topic, byID: make(map[int64]*producerState)}
		p.parts[part] = pp
	}
	return pp
}

func (p *producers) forgetTopic(topic string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, pp := range p.parts {
		if pp.topic == topic {
			delete(p.parts, k)
		}
	}
}

// load rebuilds producer state from the partition's last batches.
func (pp *partProducers) load(part broker.Partition) {
	pp.loaded = true
	end := part.EndOffset()
	eachBatch(part, max(part.StartOffset(), end-tailScanRecords), end, func(h batch.BatchHeader, _ []byte) {
		if h.ProducerID < 0 || h.Control() || h.BaseSequence < 0 {
			return
		}
		st := pp.byID[h.ProducerID]
		if st == nil || h.ProducerEpoch > st.epoch {
			st = &producerState{epoch: h.ProducerEpoch}
			pp.byID[h.ProducerID] = st
		} else if h.ProducerEpoch < st.epoch {
			return
		}
		st.remember(seqBatch{first: h.BaseSequence, last: addSeq(h.BaseSequence, h.RecordCount-1), base: h.BaseOffset})
	})
}

// eachBatch calls fn with the header and bytes of each stored batch of part
// from the one holding offset from until end, stopping early at a read
// error or a batch it cannot parse. The start-up rebuilds of producer and
// transaction state walk the log with it.
func eachBatch(part broker.Partition, from, end int64, fn func(h batch.BatchHeader, raw []byte)) {
	for from < end {
		raw, err := part.ReadRaw(from, 1<<20)
		if err != nil || len(raw) == 0 {
			return
		}
		for len(raw) > 0 {
			h, err := batch.ParseHeader(raw)
			if err != nil || h.Size() > len(raw) {
				return
			}
			fn(h, raw[:h.Size()])
			raw = raw[h.Size():]
			from = h.NextOffset()
		}
	}
}

func addSeq(seq, n int32) int32 {
	if int64(seq)+int64(n) > math.MaxInt32 {
		return int32(int64(seq) + int64(n) - math.MaxInt32 - 1)
	}
	return seq + n
}

// appendResult is what producing one partition's batch came to.
type appendResult struct {
	code    int16
	base    int64
	receipt broker.Receipt
}

// appendBatch checks an idempotent producer batch's sequence and appends it,
// in g (see produce). Without a producer id it just appends.
func (s *Server) appendBatch(g *broker.CommitGroup, topic string, part broker.Partition, partition int32, h batch.BatchHeader, raw []byte) appendResult {
	if h.ProducerID < 0 || h.BaseSequence < 0 {
		r, err := s.b.AppendBatch(g, topic, partition, raw)
		return appendResult{code: errorCode(err), base: r.Base, receipt: r}
	}
	pp := s.prod.partition(topic, part)
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if !pp.loaded {
		pp.load(part)
	}
	first, last := h.BaseSequence, addSeq(h.BaseSequence, h.RecordCount-1)
	st := pp.byID[h.ProducerID]
	// A batch refused here, or answered as a duplicate, is not appended, so
	// storage does not check its records: check them first, as Kafka
	// validates a batch before it looks at the producer's state.
	refuse := func(code int16) appendResult {
		if err := storage.ValidateBatch(raw); err != nil {
			return appendResult{code: errorCode(err), base: -1}
		}
		return appendResult{code: code, base: -1}
	}
	// The producer's state changes only once storage has taken the batch
	// (and checked its records), below.
	switch {
	case st == nil:
		// Unknown producer: a new one, or one whose state aged out of the
		// scanned tail. Accept and start tracking, as Kafka does since 2.5.
	case h.ProducerEpoch < st.epoch:
		return refuse(kerr.InvalidProducerEpoch.Code)
	case h.ProducerEpoch > st.epoch:
		if first != 0 {
			return refuse(kerr.OutOfOrderSequenceNumber.Code)
		}
	default:
		for i := range st.n {
			if b := st.batches[i]; b.first == first && b.last == last {
				if res := refuse(0); res.code != 0 {
					return res
				}
				s.prod.duplicates.Add(1)
				return appendResult{base: b.base, receipt: b.receipt}
			}
		}
		if st.n > 0 && first != addSeq(st.last().last, 1) {
			return refuse(kerr.OutOfOrderSequenceNumber.Code)
		}
	}
	r, err := s.b.AppendBatch(g, topic, partition, raw)
	if err != nil {
		return appendResult{code: errorCode(err), base: -1}
	}
	if st == nil {
		st = &producerState{epoch: h.ProducerEpoch}
		pp.byID[h.ProducerID] = st
	} else if h.ProducerEpoch > st.epoch { // a new epoch starts its sequences over
		*st = producerState{epoch: h.ProducerEpoch}
	}
	st.remember(seqBatch{first: first, last: last, base: r.Base, receipt: r})
	return appendResult{base: r.Base, receipt: r}
}
