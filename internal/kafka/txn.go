package kafka

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/batch"
	"github.com/gannet-mq/gannet/internal/broker"
)

// The transaction coordinator. A transactional id maps to a producer id and
// epoch; a transaction collects partitions (AddPartitionsToTxn) and group
// offsets (AddOffsetsToTxn, TxnOffsetCommit); EndTxn writes a commit or
// abort marker to every partition, applies the offsets on commit, and
// answers once markers and offsets are durable. Coordinator state is kept
// in memory: after a restart producers re-run InitProducerId (as they do
// when a Kafka coordinator moves) and open transactions found in the log
// are aborted.

type topicPartition struct {
	topic     string
	partition int32
}

type pendingOffset struct {
	group string
	tp    topicPartition
	c     broker.CommittedOffset
}

type txn struct {
	pid        int64
	epoch      int16
	ongoing    bool
	timeout    time.Duration
	started    time.Time
	partitions map[topicPartition]bool
	offsets    []pendingOffset
}

type txnCoordinator struct {
	s     *Server
	mu    sync.Mutex
	byID  map[string]*txn
	parts map[broker.Partition]*txnPartition
}

func newTxnCoordinator(s *Server) *txnCoordinator {
	return &txnCoordinator{s: s, byID: map[string]*txn{}, parts: map[broker.Partition]*txnPartition{}}
}

// maxTxnTimeout is Kafka's transaction.max.timeout.ms.
const maxTxnTimeout = 15 * time.Minute

// initProducerID hands out a producer id: a fresh one for an idempotent
// producer; for a transactional id, the same id with the next epoch, after
// aborting what its previous incarnation left open.
func (s *Server) initProducerID(req *kmsg.InitProducerIDRequest) reply {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	if req.TransactionalID == nil {
		resp.ProducerID, resp.ProducerEpoch = s.prod.newID(), 0
		return reply{resp: resp}
	}
	timeout := time.Duration(req.TransactionTimeoutMillis) * time.Millisecond
	if timeout <= 0 || timeout > maxTxnTimeout {
		resp.ErrorCode, resp.ProducerID, resp.ProducerEpoch = kerr.InvalidTransactionTimeout.Code, -1, -1
		return reply{resp: resp}
	}
	s.groups.ensureJanitor() // it also expires transactions
	t := s.txns
	t.mu.Lock()
	defer t.mu.Unlock()
	tx := t.byID[*req.TransactionalID]
	var receipts []broker.Receipt
	switch {
	case tx == nil:
		tx = &txn{pid: s.prod.newID(), partitions: map[topicPartition]bool{}}
		t.byID[*req.TransactionalID] = tx
	default:
		if tx.ongoing {
			receipts = t.endLocked(tx, false)
		}
		if tx.epoch == 32766 {
			tx.pid, tx.epoch = s.prod.newID(), 0
		} else {
			tx.epoch++
		}
	}
	tx.timeout = timeout
	resp.ProducerID, resp.ProducerEpoch = tx.pid, tx.epoch
	return reply{wait: func() kmsg.Response {
		if err := waitAll(s.ctx, receipts); err != nil {
			resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		}
		return resp
	}}
}

func waitAll(ctx context.Context, rs []broker.Receipt) error {
	for _, r := range rs {
		if err := r.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// lookupLocked checks a request's producer id and epoch against its
// transactional id.
func (t *txnCoordinator) lookupLocked(id string, pid int64, epoch int16) (*txn, int16) {
	tx := t.byID[id]
	switch {
	case tx == nil || tx.pid != pid:
		return nil, kerr.InvalidProducerIDMapping.Code
	case epoch != tx.epoch:
		return nil, kerr.InvalidProducerEpoch.Code
	}
	return tx, 0
}

func (tx *txn) begin(now time.Time) {
	if !tx.ongoing {
		tx.ongoing, tx.started = true, now
	}
}

func (t *txnCoordinator) addPartitions(req *kmsg.AddPartitionsToTxnRequest) reply {
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	t.mu.Lock()
	defer t.mu.Unlock()
	tx, code := t.lookupLocked(req.TransactionalID, req.ProducerID, req.ProducerEpoch)
	// All or nothing: if any partition is unknown, the others are not
	// attempted.
	missing := map[topicPartition]bool{}
	if code == 0 {
		for _, rt := range req.Topics {
			for _, p := range rt.Partitions {
				if _, err := t.s.b.Partition(rt.Topic, p); err != nil {
					missing[topicPartition{rt.Topic, p}] = true
				}
			}
		}
	}
	for _, rt := range req.Topics {
		out := kmsg.NewAddPartitionsToTxnResponseTopic()
		out.Topic = rt.Topic
		for _, p := range rt.Partitions {
			rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			rp.Partition = p
			tp := topicPartition{rt.Topic, p}
			switch {
			case code != 0:
				rp.ErrorCode = code
			case missing[tp]:
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case len(missing) > 0:
				rp.ErrorCode = kerr.OperationNotAttempted.Code
			default:
				tx.begin(t.s.now())
				tx.partitions[tp] = true
			}
			out.Partitions = append(out.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, out)
	}
	return reply{resp: resp}
}

func (t *txnCoordinator) addOffsets(req *kmsg.AddOffsetsToTxnRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	t.mu.Lock()
	defer t.mu.Unlock()
	tx, code := t.lookupLocked(req.TransactionalID, req.ProducerID, req.ProducerEpoch)
	if code == 0 {
		tx.begin(t.s.now())
	}
	resp.ErrorCode = code
	return resp
}

func (t *txnCoordinator) offsetCommit(req *kmsg.TxnOffsetCommitRequest) reply {
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	code := int16(0)
	if req.Version >= 3 && req.MemberID != "" {
		code = t.s.groups.checkCommit(req.Group, req.MemberID, req.InstanceID, req.Generation)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	tx, c := t.lookupLocked(req.TransactionalID, req.ProducerID, req.ProducerEpoch)
	if code == 0 {
		code = c
	}
	if code == 0 && !tx.ongoing {
		code = kerr.InvalidTxnState.Code
	}
	for _, rt := range req.Topics {
		out := kmsg.NewTxnOffsetCommitResponseTopic()
		out.Topic = rt.Topic
		for _, p := range rt.Partitions {
			rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, code
			if code == 0 {
				c, ec := offsetToCommit(p.Offset, p.Metadata)
				if ec == 0 {
					_, err := t.s.b.Partition(rt.Topic, p.Partition)
					ec = errorCode(err)
				}
				if rp.ErrorCode = ec; ec == 0 {
					tx.offsets = append(tx.offsets, pendingOffset{req.Group, topicPartition{rt.Topic, p.Partition}, c})
				}
			}
			out.Partitions = append(out.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, out)
	}
	return reply{resp: resp}
}

func (t *txnCoordinator) endTxn(req *kmsg.EndTxnRequest) reply {
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	t.mu.Lock()
	tx, code := t.lookupLocked(req.TransactionalID, req.ProducerID, req.ProducerEpoch)
	if code == 0 && !tx.ongoing {
		code = kerr.InvalidTxnState.Code
	}
	if code != 0 {
		t.mu.Unlock()
		resp.ErrorCode = code
		return reply{resp: resp}
	}
	receipts := t.endLocked(tx, req.Commit)
	t.mu.Unlock()
	return reply{wait: func() kmsg.Response {
		err := waitAll(t.s.ctx, receipts)
		if err == nil && req.Commit {
			err = t.s.b.SyncState(t.s.ctx)
		}
		if err != nil {
			resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		}
		return resp
	}}
}

// endLocked writes the markers of a transaction, applies its offsets on
// commit, and returns the appends to wait for.
func (t *txnCoordinator) endLocked(tx *txn, commit bool) []broker.Receipt {
	var receipts []broker.Receipt
	for tp := range tx.partitions {
		part, err := t.s.b.Partition(tp.topic, tp.partition)
		if err != nil {
			continue // deleted meanwhile
		}
		st := t.partLocked(tp.topic, tp.partition, part)
		if commit {
			r, err := t.s.b.AppendBatch(nil, tp.topic, tp.partition, controlBatch(tx.pid, tx.epoch, true, t.s.now()))
			if err == nil {
				delete(st.open, tx.pid)
				receipts = append(receipts, r)
			}
		} else if r, err := t.abortPartition(st, tx.pid, tx.epoch); err == nil {
			receipts = append(receipts, r)
		}
	}
	if commit {
		for _, o := range tx.offsets {
			t.s.b.CommitOffset(o.group, o.tp.topic, o.tp.partition, o.c)
		}
	}
	tx.ongoing, tx.offsets = false, nil
	tx.partitions = map[topicPartition]bool{}
	return receipts
}

// expire aborts transactions open longer than their timeout.
func (t *txnCoordinator) expire(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tx := range t.byID {
		if tx.ongoing && now.Sub(tx.started) > tx.timeout {
			t.endLocked(tx, false)
			tx.epoch++ // fence the producer that let it expire
		}
	}
}

// produceTxn checks and appends a transactional batch, noting where the
// producer's transaction begins on the partition. It holds t.mu across the
// append so a reader never sees the data before the open transaction that
// hides it.
func (s *Server) produceTxn(g *broker.CommitGroup, txnID, topic string, part broker.Partition, partition int32, h batch.BatchHeader, raw []byte) appendResult {
	t := s.txns
	st := t.part(topic, partition, part) // a first-use scan runs without t.mu
	t.mu.Lock()
	defer t.mu.Unlock()
	tx, code := t.lookupLocked(txnID, h.ProducerID, h.ProducerEpoch)
	if code == 0 && (!tx.ongoing || !tx.partitions[topicPartition{topic, partition}]) {
		code = kerr.InvalidTxnState.Code
	}
	if code != 0 {
		return appendResult{code: code, base: -1}
	}
	res := s.appendBatch(g, topic, part, partition, h, raw)
	if res.code == 0 {
		if _, ok := st.open[h.ProducerID]; !ok {
			st.open[h.ProducerID] = res.base
		}
	}
	return res
}
