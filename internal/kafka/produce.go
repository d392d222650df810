package kafka

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/batch"
	"github.com/gannet-mq/gannet/internal/broker"
)

// produce appends every partition's batch now, in request order, and
// answers once they are all durable. The appends go in a commit group whose
// rounds the connection's writer runs before it answers (one commit-log
// round for all the small ones), while the reader goes on to the next
// request; a pipelined request's appends to a partition whose round is
// under way join the partition's next round.
func (s *Server) produce(c *conn, req *kmsg.ProduceRequest) reply {
	if raised := s.holdForAlarms(req.TimeoutMillis); raised != 0 {
		return produceTimedOut(req, raised)
	}
	type pending struct {
		rp      *kmsg.ProduceResponseTopicPartition
		part    broker.Partition
		receipt broker.Receipt
	}
	var waits []pending
	failed := false
	g := new(broker.CommitGroup)
	resp := produceResponse(req, func(topic string, p *kmsg.ProduceRequestTopicPartition, rp *kmsg.ProduceResponseTopicPartition) {
		res := s.producePartition(g, req.TransactionID, topic, p.Partition, p.Records)
		rp.ErrorCode = res.code
		failed = failed || res.code != 0
		if res.code == 0 {
			rp.BaseOffset = res.base
			waits = append(waits, pending{rp, res.part, res.receipt})
		} else if res.msg != "" {
			rp.ErrorMessage = kmsg.StringPtr(res.msg)
		}
	})
	if req.Acks == 0 || len(waits) == 0 {
		g.Release()
		if req.Acks == 0 {
			return reply{none: true, hangUp: failed}
		}
		return reply{resp: resp}
	}
	return reply{wait: func() kmsg.Response {
		g.Commit()
		for _, w := range waits {
			if err := w.receipt.Wait(c.ctx); err != nil {
				w.rp.ErrorCode, w.rp.BaseOffset = kerr.KafkaStorageError.Code, -1
				if errors.Is(err, c.ctx.Err()) {
					w.rp.ErrorCode = kerr.RequestTimedOut.Code
				}
			} else {
				w.rp.LogStartOffset = w.part.StartOffset()
			}
		}
		return resp
	}}
}

// produceResponse is req's response with an entry for every partition it
// names, offsets unknown (-1) until answer fills it in, in request order.
func produceResponse(req *kmsg.ProduceRequest, answer func(topic string, p *kmsg.ProduceRequestTopicPartition, rp *kmsg.ProduceResponseTopicPartition)) *kmsg.ProduceResponse {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	for i := range req.Topics {
		t, rt := &req.Topics[i], &resp.Topics[i]
		*rt = kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(t.Partitions))
		for j := range t.Partitions {
			rp := &rt.Partitions[j]
			*rp = kmsg.NewProduceResponseTopicPartition()
			rp.Partition = t.Partitions[j].Partition
			rp.BaseOffset, rp.LogAppendTime, rp.LogStartOffset = -1, -1, -1
			answer(t.Topic, &t.Partitions[j], rp)
		}
	}
	return resp
}

type produceResult struct {
	appendResult
	msg  string
	part broker.Partition // set when code is 0
}

// producePartition checks one partition's records and appends them.
func (s *Server) producePartition(g *broker.CommitGroup, txnID *string, topic string, partition int32, records []byte) produceResult {
	part, err := s.b.Partition(topic, partition)
	if err != nil {
		return produceResult{appendResult: appendResult{code: errorCode(err)}}
	}
	// A v3+ produce carries exactly one RecordBatch v2 per partition. Only
	// what needs no decompression is checked here: storage's AppendBatch
	// decompresses and checks the records, once, and sets the max timestamp
	// from them as Kafka's LogValidator does (errorCode tells an unknown
	// codec it finds from a corrupt batch).
	h, err := batch.Verify(records)
	if err != nil {
		return produceResult{appendResult: appendResult{code: errorCode(err)}, msg: err.Error()}
	}
	if h.Control() {
		return produceResult{appendResult: appendResult{code: kerr.InvalidRecord.Code}, msg: "producers cannot write control batches"}
	}
	if h.Transactional() != (txnID != nil) {
		return produceResult{appendResult: appendResult{code: kerr.InvalidRecord.Code}, msg: "transactional batches need a transactional id, and only they"}
	}
	if h.Transactional() {
		return produceResult{appendResult: s.produceTxn(g, *txnID, topic, part, partition, h, records), part: part}
	}
	return produceResult{appendResult: s.appendBatch(g, topic, part, partition, h, records), part: part}
}
