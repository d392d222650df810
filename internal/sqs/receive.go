package sqs

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/sqs/wire"
)

// consumerName is the core consumer every SQS receive uses: SQS consumers
// are anonymous and leases, not connections, bound deliveries.
const consumerName = "sqs"

// receiveAttempt is a FIFO ReceiveMessage answer kept for retries with the
// same ReceiveRequestAttemptId.
type receiveAttempt struct {
	at       time.Time
	messages []wire.Message
}

type rxKey struct {
	queue  string
	offset int64
}

// Bounds on what the front-end remembers: first receive times, FIFO
// receive attempts and FIFO first sends. Past them it forgets (a retried
// attempt then gets new messages, a duplicate send a fresh MessageId),
// rather than grow without limit.
const (
	maxFirstReceive = 1 << 17
	maxAttempts     = 1 << 10
	maxSentPerQueue = 1 << 16
)

func (s *Server) receiveMessage(ctx context.Context, req *request, in *wire.ReceiveMessageInput) (any, error) {
	q, err := s.queueFromURL(req, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	max := in.MaxNumberOfMessages.Or(1)
	if max < 1 || max > maxBatchEntries {
		return nil, wire.InvalidParameter("MaxNumberOfMessages", strconv.FormatInt(max, 10), "Must be between 1 and 10, if provided.")
	}
	visibility := q.visibility
	if in.VisibilityTimeout.Set {
		v := in.VisibilityTimeout.Value
		if v < 0 || v > int64(maxVisibility/time.Second) {
			return nil, wire.InvalidParameter("VisibilityTimeout", strconv.FormatInt(v, 10), "Must be between 0 and 43200, if provided.")
		}
		visibility = time.Duration(v) * time.Second
	}
	wait := q.wait
	if in.WaitTimeSeconds.Set {
		v := in.WaitTimeSeconds.Value
		if v < 0 || v > int64(maxWait/time.Second) {
			return nil, wire.InvalidParameter("WaitTimeSeconds", strconv.FormatInt(v, 10), "Must be >= 0 and <= 20, if provided.")
		}
		wait = time.Duration(v) * time.Second
	}
	attemptKey := ""
	if q.fifo && in.ReceiveRequestAttemptId != "" {
		if !fifoTokenPattern.MatchString(in.ReceiveRequestAttemptId) {
			return nil, wire.InvalidParameter("ReceiveRequestAttemptId", in.ReceiveRequestAttemptId, "ReceiveRequestAttemptId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
		}
		attemptKey = q.name + "\x00" + in.ReceiveRequestAttemptId
		s.mu.Lock()
		a := s.attempts[attemptKey]
		s.mu.Unlock()
		if a != nil && s.clock.Now().Sub(a.at) < fifoDedupWindow {
			return wire.ReceiveMessageOutput{Messages: a.messages}, nil
		}
	}
	g, err := s.b.Queue(q.name)
	if err != nil {
		return nil, wire.NonExistentQueue()
	}
	rctx := ctx
	if wait > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	lease := visibility
	if lease == 0 {
		lease = time.Millisecond // released below, at once
	}
	s.noteReceive(q.name)
	ds, err := g.Receive(rctx, broker.ReceiveOptions{Consumer: consumerName, Max: int(max), Wait: wait > 0, Lease: lease, KeyBatches: q.fifo})
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		if errors.Is(err, broker.ErrClosed) {
			return nil, wire.NonExistentQueue() // deleted while we waited
		}
		return nil, err
	}
	sel := newSelection(in)
	now := s.clock.Now()
	out := wire.ReceiveMessageOutput{}
	var expired, zeroVisibility []broker.Ref
	kept := ds[:0]
	for i := range ds {
		if q.retention > 0 && now.Sub(ds[i].Timestamp) > q.retention {
			expired = append(expired, refOf(&ds[i]))
			continue
		}
		kept = append(kept, ds[i])
	}
	firsts := s.firstReceives(q.name, kept, now)
	for i := range kept {
		d := &kept[i]
		out.Messages = append(out.Messages, s.render(q, d, sel, firsts[i]))
		if visibility == 0 {
			zeroVisibility = append(zeroVisibility, refOf(d))
		}
	}
	if len(expired) > 0 {
		g.Ack(expired...) // past MessageRetentionPeriod: SQS deletes them
	}
	if len(zeroVisibility) > 0 {
		g.Release(0, zeroVisibility...)
	}
	if attemptKey != "" && len(out.Messages) > 0 {
		s.mu.Lock()
		if now.Sub(s.attemptsSwept) >= time.Minute {
			s.attemptsSwept = now
			for k, a := range s.attempts {
				if now.Sub(a.at) >= fifoDedupWindow {
					delete(s.attempts, k)
				}
			}
		}
		if len(s.attempts) >= maxAttempts {
			clear(s.attempts) // see maxAttempts
		}
		s.attempts[attemptKey] = &receiveAttempt{at: now, messages: out.Messages}
		s.mu.Unlock()
	}
	return out, nil
}

// selection is which attributes a ReceiveMessage asked for.
type selection struct {
	allSystem bool
	system    map[string]bool
	allUser   bool
	user      map[string]bool
	prefixes  []string
}

func newSelection(in *wire.ReceiveMessageInput) selection {
	var sel selection
	for _, lists := range [][]string{in.AttributeNames, in.MessageSystemAttributeNames} {
		for _, n := range lists {
			if n == "All" {
				sel.allSystem = true
			}
			if sel.system == nil {
				sel.system = map[string]bool{}
			}
			sel.system[n] = true
		}
	}
	for _, n := range in.MessageAttributeNames {
		switch {
		case n == "All" || n == ".*":
			sel.allUser = true
		case strings.HasSuffix(n, ".*"):
			sel.prefixes = append(sel.prefixes, strings.TrimSuffix(n, "*"))
		default:
			if sel.user == nil {
				sel.user = map[string]bool{}
			}
			sel.user[n] = true
		}
	}
	return sel
}

func (sel selection) wantsSystem(name string) bool { return sel.allSystem || sel.system[name] }

func (sel selection) anySystem() bool { return sel.allSystem || len(sel.system) > 0 }

func (sel selection) wantsUser(name string) bool {
	if sel.allUser || sel.user[name] {
		return true
	}
	for _, p := range sel.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// messageID is the id SendMessage returned, or for a message written by
// another protocol one derived from the queue and offset.
func messageID(q *queue, rec *broker.Record) string {
	if v, ok := rec.HeaderValue(headerMessageID); ok {
		return string(v)
	}
	var seed [24]byte
	binary.BigEndian.PutUint64(seed[0:], uint64(q.createdMs))
	binary.BigEndian.PutUint64(seed[8:], uint64(rec.Offset))
	binary.BigEndian.PutUint64(seed[16:], uint64(rec.Partition))
	sum := md5.Sum(append(seed[:], q.name...))
	return formatUUID(sum)
}

// render turns a delivery into an SQS message; first is when it was first
// received.
func (s *Server) render(q *queue, d *broker.Delivered, sel selection, first int64) wire.Message {
	// The delivered record owns its memory and nothing writes to it: the
	// body can share it.
	body := unsafe.String(unsafe.SliceData(d.Value), len(d.Value))
	m := wire.Message{
		MessageId:     messageID(q, &d.Record),
		ReceiptHandle: receipt{queue: q.name, createdMs: q.createdMs, ref: refOf(d)}.encode(),
		MD5OfBody:     wire.MD5OfBody(body),
		Body:          body,
	}
	if sel.anySystem() {
		m.Attributes = s.systemAttributes(q, d, sel, first)
	}
	var types map[string]string
	for _, h := range d.Headers {
		if name, ok := strings.CutPrefix(h.Key, headerTypePrefix); ok {
			if types == nil {
				types = map[string]string{}
			}
			types[name] = string(h.Value)
		}
	}
	for _, h := range d.Headers {
		if reservedHeader(h.Key) || !sel.wantsUser(h.Key) {
			continue
		}
		if m.MessageAttributes == nil {
			m.MessageAttributes = map[string]wire.MessageAttributeValue{}
		}
		v := wire.MessageAttributeValue{DataType: "String"}
		if t, ok := types[h.Key]; ok {
			v.DataType = t
		}
		if wire.IsBinaryType(v.DataType) {
			v.BinaryValue = h.Value
		} else {
			str := string(h.Value)
			v.StringValue = &str
		}
		m.MessageAttributes[h.Key] = v
	}
	m.MD5OfMessageAttributes = wire.MD5OfAttributes(m.MessageAttributes)
	return m
}

// systemAttributes renders the system attributes sel asks for; only those
// are formatted.
func (s *Server) systemAttributes(q *queue, d *broker.Delivered, sel selection, first int64) map[string]string {
	out := map[string]string{}
	want := sel.wantsSystem
	if want("SenderId") {
		out["SenderId"] = s.cfg.AccountID
	}
	if want("SentTimestamp") {
		out["SentTimestamp"] = strconv.FormatInt(d.Timestamp.UnixMilli(), 10)
	}
	if want("ApproximateReceiveCount") {
		out["ApproximateReceiveCount"] = strconv.Itoa(d.Count)
	}
	if want("ApproximateFirstReceiveTimestamp") {
		out["ApproximateFirstReceiveTimestamp"] = strconv.FormatInt(first, 10)
	}
	if v, ok := d.HeaderValue(headerTrace); ok && want("AWSTraceHeader") {
		out["AWSTraceHeader"] = string(v)
	}
	if (q.fifo || d.Key != nil) && want("MessageGroupId") {
		out["MessageGroupId"] = string(d.Key)
	}
	if q.fifo && want("SequenceNumber") {
		out["SequenceNumber"] = sequenceNumber(d.Offset)
	}
	if v, ok := d.HeaderValue(broker.HeaderMessageID); ok && q.fifo && want("MessageDeduplicationId") {
		if i := bytes.IndexByte(v, 0); i >= 0 { // messageGroup scope
			v = v[i+1:]
		}
		out["MessageDeduplicationId"] = string(v)
	}
	if want("DeadLetterQueueSourceArn") {
		if deaths := d.Deaths(); len(deaths) > 0 {
			out["DeadLetterQueueSourceArn"] = s.arn(deaths[0].Queue)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// firstReceives returns (and for first deliveries records) when each
// message was first received, under one lock for the whole receive. The
// memory is bounded and not durable: after a restart or once full it
// falls back to now.
func (s *Server) firstReceives(queue string, ds []broker.Delivered, now time.Time) []int64 {
	firsts := make([]int64, len(ds))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range ds {
		key := rxKey{queue, ds[i].Offset}
		if t, ok := s.firstRx[key]; ok && ds[i].Count > 1 {
			firsts[i] = t
			continue
		}
		if len(s.firstRx) >= maxFirstReceive {
			clear(s.firstRx)
		}
		s.firstRx[key] = now.UnixMilli()
		firsts[i] = now.UnixMilli()
	}
	return firsts
}

func (s *Server) forgetFirstReceive(queue string, refs []broker.Ref) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range refs {
		delete(s.firstRx, rxKey{queue, r.Offset})
	}
}

// refOf names a delivery for settlement.
func refOf(d *broker.Delivered) broker.Ref {
	return broker.Ref{Partition: d.Partition, Offset: d.Offset, Count: d.Count}
}
