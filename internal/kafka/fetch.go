package kafka

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/batch"
	"github.com/gannet-mq/gannet/internal/broker"
)

// readCommitted is the Fetch and ListOffsets isolation level that hides
// records of open and aborted transactions.
const readCommitted = 1

// fetch answers at once when it has MinBytes or MaxWait is 0; otherwise it
// waits, on the writer, until a fetched partition grows or MaxWait passes.
// Sessions (KIP-227) are not kept: every response is a full one with
// session id 0, which clients take as "no session".
func (s *Server) fetch(c *conn, req *kmsg.FetchRequest) reply {
	resp, total, chans := s.readFetch(req, true)
	if total >= int(req.MinBytes) || req.MaxWaitMillis <= 0 || len(chans) == 0 {
		return reply{resp: resp}
	}
	return reply{wait: func() kmsg.Response {
		// The wait ends at MaxWait, when the connection goes, or when
		// Shutdown starts draining; then it answers with what there is.
		// MaxWait is a real timer, not the injected clock: clients give
		// the request a wall-clock deadline of MaxWait plus some slack, so
		// a wait held by a fake clock would only time the client out.
		ctx, cancel := context.WithTimeout(c.ctx, time.Duration(req.MaxWaitMillis)*time.Millisecond)
		defer cancel()
		stop := context.AfterFunc(s.drain, cancel)
		defer stop()
		for {
			final := broker.WaitAny(ctx, chans...) != nil
			resp, total, chans = s.readFetch(req, !final)
			if final || total >= int(req.MinBytes) || len(chans) == 0 {
				return resp
			}
		}
	}}
}

// readFetch reads what the request asks for. With watch it also returns,
// for the partitions that had nothing new, channels closed when they grow
// (taken before reading, so no append is missed).
func (s *Server) readFetch(req *kmsg.FetchRequest, watch bool) (*kmsg.FetchResponse, int, []<-chan struct{}) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	budget := int(req.MaxBytes)
	if budget <= 0 {
		budget = 1 << 30
	}
	total := 0
	var chans []<-chan struct{}
	for _, t := range req.Topics {
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewFetchResponseTopicPartition()
			rp.Partition = p.Partition
			rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = -1, -1, -1
			rp.RecordBatches = []byte{} // librdkafka refuses a null record set
			part, code := s.leaderPartition(t.Topic, p.Partition, p.CurrentLeaderEpoch)
			if rp.ErrorCode = code; code == 0 {
				if watch {
					chans = append(chans, part.Changed())
				}
				n := s.readPartition(t.Topic, part, req.IsolationLevel, p, &rp, budget, total == 0)
				total += n
				budget -= n
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, total, chans
}

// leaderPartition looks up a partition that a request names along with the
// leader epoch the client knows (-1 for none): a later epoch than ours, the
// only one (0), is UNKNOWN_LEADER_EPOCH.
func (s *Server) leaderPartition(topic string, partition, currentEpoch int32) (broker.Partition, int16) {
	part, err := s.b.Partition(topic, partition)
	if err != nil {
		return part, errorCode(err)
	}
	if currentEpoch > leaderEpoch {
		return part, kerr.UnknownLeaderEpoch.Code
	}
	return part, 0
}

// readPartition fills one partition of a fetch response and returns the
// bytes it added. The first partition with data gets at least one whole
// batch even over the limits (KIP-74), so a large batch never stalls.
func (s *Server) readPartition(topic string, part broker.Partition, isolation int8, p kmsg.FetchRequestTopicPartition, rp *kmsg.FetchResponseTopicPartition, budget int, first bool) int {
	start, end := part.StartOffset(), part.EndOffset()
	var stable int64
	if isolation == readCommitted {
		stable = min(s.txns.committedView(topic, p.Partition, part), end)
	} else {
		stable = s.txns.lastStable(part, end)
	}
	rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = end, stable, start
	if p.FetchOffset < start || p.FetchOffset > end {
		rp.ErrorCode = kerr.OffsetOutOfRange.Code
		return 0
	}
	limit := end
	if isolation == readCommitted {
		limit = stable
	}
	if p.FetchOffset >= limit || (budget <= 0 && !first) {
		return 0
	}
	maxBytes := min(int(p.PartitionMaxBytes), budget)
	raw, err := part.ReadRaw(p.FetchOffset, max(maxBytes, 1))
	if err != nil {
		rp.ErrorCode = errorCode(err)
		return 0
	}
	if len(raw) > maxBytes && !first {
		return 0
	}
	if isolation == readCommitted {
		raw = cutBatchesAt(raw, limit)
		rp.AbortedTransactions = s.txns.aborted(part, p.FetchOffset, limit)
	}
	rp.RecordBatches = raw
	return len(raw)
}

func (s *Server) listOffsets(req *kmsg.ListOffsetsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewListOffsetsResponseTopicPartition()
			rp.Partition, rp.LeaderEpoch = p.Partition, leaderEpoch
			rp.Timestamp, rp.Offset = -1, -1
			part, code := s.leaderPartition(t.Topic, p.Partition, p.CurrentLeaderEpoch)
			if rp.ErrorCode = code; code == 0 {
				rp.Offset, rp.Timestamp, rp.ErrorCode = s.offsetFor(t.Topic, p.Partition, part, p.Timestamp, req.IsolationLevel)
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// offsetFor resolves a ListOffsets timestamp: -1 latest, -2 earliest, -3
// the record with the largest timestamp, else the first record at or
// after the timestamp (offset -1 when there is none, as in Kafka).
func (s *Server) offsetFor(topic string, partition int32, part broker.Partition, ts int64, isolation int8) (int64, int64, int16) {
	end := part.EndOffset()
	if isolation == readCommitted {
		end = min(s.txns.committedView(topic, partition, part), end)
	}
	switch ts {
	case -1:
		return end, -1, 0
	case -2:
		return part.StartOffset(), -1, 0
	case -3:
		return maxTimestampOffset(part, end)
	}
	off, err := part.OffsetForTime(ts)
	if err != nil {
		return -1, -1, errorCode(err)
	}
	if off >= end {
		return -1, -1, 0
	}
	return off, recordTime(part, off), 0
}

// maxTimestampOffset answers ListOffsets -3 (KIP-734): the earliest record
// carrying the partition's largest timestamp, which need not be the last
// record since producers set timestamps freely. As in Kafka, a record at or
// beyond end (a read_committed reader's last stable offset) is not
// answered, and neither is an empty partition: offset and timestamp -1.
func maxTimestampOffset(part broker.Partition, end int64) (int64, int64, int16) {
	maxTS, ok, err := part.MaxTimestamp()
	if err != nil {
		return -1, -1, errorCode(err)
	}
	if !ok {
		return -1, -1, 0
	}
	off, err := part.OffsetForTime(maxTS)
	if err != nil {
		return -1, -1, errorCode(err)
	}
	if off >= end {
		return -1, -1, 0
	}
	// No record below end is later than maxTS, so the record found carries
	// exactly maxTS, even if the start moved in between.
	return off, maxTS, 0
}

// recordTime returns the timestamp of the record at off, or -1.
func recordTime(part broker.Partition, off int64) int64 {
	recs, err := part.Read(off, 1, 0)
	if err != nil {
		return -1
	}
	for _, r := range recs {
		if r.Offset == off {
			return r.Timestamp.UnixMilli()
		}
	}
	return -1
}

// offsetForLeaderEpoch answers for the only epoch there is, 0: it ends at
// the log end offset.
func (s *Server) offsetForLeaderEpoch(req *kmsg.OffsetForLeaderEpochRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetForLeaderEpochResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			rp.Partition = p.Partition
			rp.LeaderEpoch, rp.EndOffset = -1, -1
			part, code := s.leaderPartition(t.Topic, p.Partition, p.CurrentLeaderEpoch)
			// An epoch we never had (LeaderEpoch above ours) is undefined,
			// as Kafka answers.
			if rp.ErrorCode = code; code == 0 && p.LeaderEpoch <= leaderEpoch {
				rp.LeaderEpoch, rp.EndOffset = leaderEpoch, part.EndOffset()
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// cutBatchesAt drops the batches of raw that start at or after limit.
func cutBatchesAt(raw []byte, limit int64) []byte {
	pos := 0
	for pos+batch.HeaderSize <= len(raw) {
		h, err := batch.ParseHeader(raw[pos:])
		if err != nil || h.BaseOffset >= limit {
			break
		}
		pos += h.Size()
	}
	return raw[:min(pos, len(raw))]
}
