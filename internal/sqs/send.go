package sqs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/sqs/wire"
)

// Headers the SQS front-end writes. Message attributes travel as headers
// named after the attribute; a non-String data type goes alongside.
const (
	headerMessageID  = "x-sqs-message-id"
	headerTrace      = "x-sqs-aws-trace-header"
	headerTypePrefix = "x-sqs-type:"
)

// reservedHeader tells headers that are not message attributes.
func reservedHeader(k string) bool {
	return k == broker.HeaderMessageID || strings.HasPrefix(k, "x-sqs-") || strings.HasPrefix(k, "x-gannet-")
}

var (
	attrNamePattern  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)
	batchIDPattern   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
	fifoTokenPattern = regexp.MustCompile(`^[!-~]{1,128}$`) // printable ASCII
	dataTypePattern  = regexp.MustCompile(`^(String|Number|Binary)(\.[A-Za-z0-9_.-]{1,200})?$`)
)

// sentMsg remembers a FIFO message's id and sequence number for the dedup
// window, so a duplicate send gets the first send's answer.
type sentMsg struct {
	id, seq string
	at      time.Time
}

// outgoing is one validated message ready to append.
type outgoing struct {
	entryID string
	msg     broker.Message
	delay   time.Duration
	dedupID string
	out     wire.SendMessageOutput
}

func (s *Server) sendMessage(ctx context.Context, req *request, in *wire.SendMessageInput) (any, error) {
	q, err := s.queueFromURL(req, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if err := s.refuseWhileAlarmed(); err != nil {
		return nil, err
	}
	o, werr := s.prepare(q, &in.SendMessageEntry)
	if werr != nil {
		return nil, werr
	}
	if err := s.appendAll(ctx, q, []*outgoing{o}); err != nil {
		return nil, err
	}
	s.paceSends(q.name, 1)
	return o.out, nil
}

func (s *Server) sendMessageBatch(ctx context.Context, req *request, in *wire.SendMessageBatchInput) (any, error) {
	q, err := s.queueFromURL(req, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if err := s.refuseWhileAlarmed(); err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	total := 0
	for i := range in.Entries {
		ids[i] = in.Entries[i].Id
		if b := in.Entries[i].MessageBody; b != nil {
			total += len(*b)
		}
	}
	if err := checkBatch("SendMessageBatchRequestEntry", ids); err != nil {
		return nil, err
	}
	if total > s.maxMsg {
		return nil, wire.Errorf(wire.KindBatchTooLong, "Batch requests cannot be longer than %d bytes. You have sent %d bytes.", s.maxMsg, total)
	}
	out := wire.SendMessageBatchOutput{Successful: []wire.SendMessageBatchResultEntry{}, Failed: []wire.BatchResultErrorEntry{}}
	var ready []*outgoing
	for i := range in.Entries {
		o, werr := s.prepare(q, &in.Entries[i])
		if werr != nil {
			out.Failed = append(out.Failed, wire.BatchEntryError(in.Entries[i].Id, werr))
			continue
		}
		o.entryID = in.Entries[i].Id
		ready = append(ready, o)
	}
	if err := s.appendAll(ctx, q, ready); err != nil {
		return nil, err
	}
	s.paceSends(q.name, len(ready))
	for _, o := range ready {
		out.Successful = append(out.Successful, wire.SendMessageBatchResultEntry{Id: o.entryID, SendMessageOutput: o.out})
	}
	return out, nil
}

// refuseWhileAlarmed fails a send while the memory or disk alarm is raised
// with 503 ServiceUnavailable, AWS' common error for a temporary failure of
// the server, which every AWS SDK retries with backoff. Receives, deletes
// and visibility changes keep working, so consumers can drain the queues.
func (s *Server) refuseWhileAlarmed() error {
	if raised := s.cfg.Alarms.Raised(); raised != 0 {
		return wire.Errorf(wire.KindServiceUnavailable,
			"The request has failed due to a temporary failure of the server: it is low on %s.", raised)
	}
	return nil
}

// checkBatch applies AWS' rules on batch entry ids.
func checkBatch(entryName string, ids []string) error {
	if len(ids) == 0 {
		return wire.Errorf(wire.KindEmptyBatch, "There should be at least one %s in the request.", entryName)
	}
	if len(ids) > maxBatchEntries {
		return wire.Errorf(wire.KindTooManyEntries, "Maximum number of entries per request are %d. You have sent %d.", maxBatchEntries, len(ids))
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !batchIDPattern.MatchString(id) {
			return wire.Errorf(wire.KindInvalidBatchEntryID, "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[id] {
			return wire.Errorf(wire.KindIDsNotDistinct, "Id %s repeated.", id)
		}
		seen[id] = true
	}
	return nil
}

// prepare validates one message as AWS does and builds the core message.
func (s *Server) prepare(q *queue, e *wire.SendMessageEntry) (*outgoing, *wire.Error) {
	if e.MessageBody == nil || *e.MessageBody == "" {
		return nil, wire.Missing("MessageBody")
	}
	body := *e.MessageBody
	if !wire.ValidMessageText(body) {
		return nil, wire.Errorf(wire.KindInvalidMessage, "Invalid binary character was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
	}
	o := &outgoing{delay: q.delay}
	if e.DelaySeconds.Set {
		if q.fifo {
			return nil, wire.InvalidParameter("DelaySeconds", strconv.FormatInt(e.DelaySeconds.Value, 10), "The request include parameter that is not valid for this queue type.")
		}
		if e.DelaySeconds.Value < 0 || e.DelaySeconds.Value > int64(maxDelay/time.Second) {
			return nil, wire.InvalidParameter("DelaySeconds", strconv.FormatInt(e.DelaySeconds.Value, 10), "DelaySeconds must be >= 0 and <= 900")
		}
		o.delay = time.Duration(e.DelaySeconds.Value) * time.Second
	}
	headers := make([]broker.Header, 0, 1+2*len(e.MessageAttributes))
	var id [16]byte
	rand.Read(id[:])
	o.out.MessageId = formatUUID(id)
	headers = append(headers, broker.Header{Key: headerMessageID, Value: []byte(o.out.MessageId)})
	size := len(body)
	if len(e.MessageAttributes) > 10 {
		return nil, wire.Errorf(wire.KindInvalidParameterValue, "Number of message attributes [%d] exceeds the allowed maximum [10].", len(e.MessageAttributes))
	}
	for name, v := range e.MessageAttributes {
		value, werr := checkAttribute(name, v)
		if werr != nil {
			return nil, werr
		}
		size += len(name) + len(v.DataType) + len(value)
		headers = append(headers, broker.Header{Key: name, Value: value})
		if v.DataType != "String" {
			headers = append(headers, broker.Header{Key: headerTypePrefix + name, Value: []byte(v.DataType)})
		}
	}
	for name, v := range e.MessageSystemAttributes {
		if name != "AWSTraceHeader" {
			return nil, wire.InvalidParameter("MessageSystemAttributes", name, "Only AWSTraceHeader is a valid message system attribute.")
		}
		if v.DataType != "String" || v.StringValue == nil || *v.StringValue == "" {
			return nil, wire.InvalidParameter("MessageSystemAttributes", name, "AWSTraceHeader must be a non-empty String.")
		}
		headers = append(headers, broker.Header{Key: headerTrace, Value: []byte(*v.StringValue)})
	}
	if size > q.maxSize {
		return nil, wire.Errorf(wire.KindInvalidParameterValue, "One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", q.maxSize)
	}
	o.out.MD5OfMessageBody = wire.MD5OfBody(body)
	o.out.MD5OfMessageAttributes = wire.MD5OfAttributes(e.MessageAttributes)
	o.out.MD5OfMessageSystemAttributes = wire.MD5OfAttributes(e.MessageSystemAttributes)
	if e.MessageGroupId != nil {
		if !fifoTokenPattern.MatchString(*e.MessageGroupId) {
			return nil, wire.InvalidParameter("MessageGroupId", *e.MessageGroupId, "MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
		}
		o.msg.Key = []byte(*e.MessageGroupId)
	}
	if q.fifo {
		if e.MessageGroupId == nil {
			return nil, wire.Missing("MessageGroupId")
		}
		switch {
		case e.MessageDeduplicationId != nil:
			if !fifoTokenPattern.MatchString(*e.MessageDeduplicationId) {
				return nil, wire.InvalidParameter("MessageDeduplicationId", *e.MessageDeduplicationId, "MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
			}
			o.dedupID = *e.MessageDeduplicationId
		case q.contentDedup:
			sum := sha256.Sum256([]byte(body))
			o.dedupID = hex.EncodeToString(sum[:])
		default:
			return nil, wire.Errorf(wire.KindInvalidParameterValue, "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
		}
		dedupKey := o.dedupID
		if q.attr("DeduplicationScope") == "messageGroup" {
			dedupKey = *e.MessageGroupId + "\x00" + o.dedupID
		}
		headers = append(headers, broker.Header{Key: broker.HeaderMessageID, Value: []byte(dedupKey)})
	} else if e.MessageDeduplicationId != nil {
		return nil, wire.InvalidParameter("MessageDeduplicationId", *e.MessageDeduplicationId, "The request include parameter that is not valid for this queue type")
	}
	o.msg.Value = wire.StringBytes(body) // the core copies it into the log and never writes to it
	o.msg.Headers = headers
	return o, nil
}

// checkAttribute validates one message attribute and returns the bytes to store.
func checkAttribute(name string, v wire.MessageAttributeValue) ([]byte, *wire.Error) {
	lower := strings.ToLower(name)
	switch {
	case !attrNamePattern.MatchString(name) || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, ".."):
		return nil, wire.InvalidParameter("MessageAttributes", name, "Message (user) attribute name is invalid: it can contain alphanumeric characters, hyphens, underscores and periods, up to 256 characters.")
	case strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon."):
		return nil, wire.InvalidParameter("MessageAttributes", name, "You can't use message attribute names beginning with 'AWS.' or 'Amazon.'. These strings are reserved for internal use.")
	case reservedHeader(lower):
		return nil, wire.InvalidParameter("MessageAttributes", name, "Gannet reserves message attribute names message-id, x-sqs-* and x-gannet-*.")
	case v.DataType == "":
		return nil, wire.Errorf(wire.KindInvalidParameterValue, "The message attribute '%s' must contain non-empty message attribute type.", name)
	case !dataTypePattern.MatchString(v.DataType):
		return nil, wire.Errorf(wire.KindInvalidParameterValue, "The type of message (user) attribute '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.", name)
	case v.StringListValues != nil || v.BinaryListValues != nil:
		return nil, wire.Errorf(wire.KindInvalidParameterValue, "Message attribute list values in SendMessage operation are not supported.")
	}
	if wire.IsBinaryType(v.DataType) {
		if v.BinaryValue == nil || v.StringValue != nil {
			return nil, wire.Errorf(wire.KindInvalidParameterValue, "The message attribute '%s' with type 'Binary' must use field 'Binary'.", name)
		}
		if len(v.BinaryValue) == 0 {
			return nil, wire.Errorf(wire.KindInvalidParameterValue, "The message attribute '%s' must contain non-empty message attribute value.", name)
		}
		return v.BinaryValue, nil
	}
	if v.StringValue == nil || v.BinaryValue != nil {
		return nil, wire.Errorf(wire.KindInvalidParameterValue, "The message attribute '%s' with type '%s' must use field 'String'.", name, v.DataType)
	}
	if *v.StringValue == "" {
		return nil, wire.Errorf(wire.KindInvalidParameterValue, "The message attribute '%s' must contain non-empty message attribute value.", name)
	}
	if !wire.ValidMessageText(*v.StringValue) {
		return nil, wire.Errorf(wire.KindInvalidMessage, "Invalid binary character was found in the value of message attribute '%s'.", name)
	}
	if strings.HasPrefix(v.DataType, "Number") {
		if _, err := strconv.ParseFloat(*v.StringValue, 64); err != nil {
			return nil, wire.Errorf(wire.KindInvalidParameterValue, "Can't cast the value of message (user) attribute '%s' to a number.", name)
		}
	}
	return []byte(*v.StringValue), nil
}

// sequenceNumber renders an offset as an SQS sequence number.
func sequenceNumber(offset int64) string {
	s := strconv.FormatInt(offset, 10)
	return strings.Repeat("0", max(20-len(s), 0)) + s
}

// appendAll appends the messages and waits until they are on disk. A
// standard queue takes messages of one delay in one batch; a FIFO queue
// takes them one by one so that each gets its own dedup verdict and
// sequence number.
func (s *Server) appendAll(ctx context.Context, q *queue, msgs []*outgoing) error {
	var receipts []broker.Receipt
	if !q.fifo {
		for start := 0; start < len(msgs); {
			end := start + 1
			for end < len(msgs) && msgs[end].delay == msgs[start].delay {
				end++
			}
			batch := make([]broker.Message, 0, end-start)
			for _, o := range msgs[start:end] {
				batch = append(batch, o.msg)
			}
			r, err := s.b.Append(q.name, 0, batch, broker.PublishOptions{Delay: msgs[start].delay})
			if err != nil {
				return err
			}
			receipts = append(receipts, r)
			start = end
		}
	} else {
		for _, o := range msgs {
			r, err := s.b.Append(q.name, 0, []broker.Message{o.msg}, broker.PublishOptions{Delay: o.delay})
			if err != nil {
				return err
			}
			receipts = append(receipts, r)
			s.recordFIFO(q, o, r)
		}
	}
	for _, r := range receipts {
		if err := r.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// recordFIFO gives a FIFO send its sequence number, or a duplicate the
// first send's id and sequence number.
func (s *Server) recordFIFO(q *queue, o *outgoing, r broker.Receipt) {
	key, _ := o.msg.HeaderValue(broker.HeaderMessageID)
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := s.sent[q.name]
	if seen == nil {
		seen = map[string]sentMsg{}
		s.sent[q.name] = seen
	}
	if r.Duplicate {
		if first, ok := seen[string(key)]; ok && now.Sub(first.at) < fifoDedupWindow {
			o.out.MessageId, o.out.SequenceNumber = first.id, first.seq
		} else {
			o.out.SequenceNumber = sequenceNumber(0)
		}
		return
	}
	o.out.SequenceNumber = sequenceNumber(r.Base)
	if len(seen) >= maxSentPerQueue {
		clear(seen) // see maxSentPerQueue; the core's dedup still drops duplicates
	}
	seen[string(key)] = sentMsg{o.out.MessageId, o.out.SequenceNumber, now}
}
