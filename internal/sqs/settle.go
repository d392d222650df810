package sqs

import (
	"context"
	"strconv"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/sqs/wire"
)

func (s *Server) deleteMessage(ctx context.Context, req *request, in *wire.DeleteMessageInput) (any, error) {
	q, err := s.queueFromURL(req, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ref, werr := decodeReceipt(in.ReceiptHandle, q)
	if werr != nil {
		return nil, werr
	}
	if err := s.ack(ctx, q, []broker.Ref{ref}); err != nil {
		return nil, err
	}
	return wire.Empty{}, nil
}

// ack deletes deliveries and waits until the deletion is on disk. A stale
// handle (the message was deleted, or received again since) deletes
// nothing and is no error, as in SQS.
func (s *Server) ack(ctx context.Context, q *queue, refs []broker.Ref) error {
	g, err := s.b.Queue(q.name)
	if err != nil {
		return wire.NonExistentQueue()
	}
	if _, err := g.Ack(refs...); err != nil {
		return err
	}
	s.forgetFirstReceive(q.name, refs)
	return s.b.SyncState(ctx)
}

func (s *Server) deleteMessageBatch(ctx context.Context, req *request, in *wire.BatchReceiptInput) (any, error) {
	q, err := s.queueFromURL(req, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if err := checkBatch("DeleteMessageBatchRequestEntry", entryIDs(in.Entries)); err != nil {
		return nil, err
	}
	out := wire.BatchIDOutput{Successful: []wire.BatchIDResultEntry{}, Failed: []wire.BatchResultErrorEntry{}}
	refs := make([]broker.Ref, 0, len(in.Entries))
	for _, e := range in.Entries {
		ref, werr := decodeReceipt(e.ReceiptHandle, q)
		if werr != nil {
			out.Failed = append(out.Failed, wire.BatchEntryError(e.Id, werr))
			continue
		}
		refs = append(refs, ref)
		out.Successful = append(out.Successful, wire.BatchIDResultEntry{Id: e.Id})
	}
	if len(refs) > 0 {
		if err := s.ack(ctx, q, refs); err != nil {
			return nil, err
		}
	}
	return wire.DeleteBatchOutput{BatchIDOutput: out}, nil
}

func entryIDs(entries []wire.ReceiptEntry) []string {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.Id
	}
	return ids
}

// visibility checks a VisibilityTimeout parameter.
func visibility(v wire.OptInt) (time.Duration, *wire.Error) {
	if !v.Set {
		return 0, wire.Missing("VisibilityTimeout")
	}
	if v.Value < 0 || v.Value > int64(maxVisibility/time.Second) {
		return 0, wire.InvalidParameter("VisibilityTimeout", strconv.FormatInt(v.Value, 10), "VisibilityTimeout must be an integer between 0 and 43200.")
	}
	return time.Duration(v.Value) * time.Second, nil
}

// changeOne sets the visibility of one delivery: a new lease from now, or
// visible at once for 0.
func (s *Server) changeOne(q *queue, handle string, timeout wire.OptInt) *wire.Error {
	ref, werr := decodeReceipt(handle, q)
	if werr != nil {
		return werr
	}
	d, werr := visibility(timeout)
	if werr != nil {
		return werr
	}
	g, gerr := s.b.Queue(q.name)
	if gerr != nil {
		return wire.NonExistentQueue()
	}
	n, _ := g.ExtendLease(d, ref)
	if n == 0 {
		return wire.Errorf(wire.KindMessageNotInflight, "Value %s for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.", handle)
	}
	return nil
}

func (s *Server) changeVisibility(req *request, in *wire.ChangeMessageVisibilityInput) (any, error) {
	q, err := s.queueFromURL(req, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if werr := s.changeOne(q, in.ReceiptHandle, in.VisibilityTimeout); werr != nil {
		return nil, werr
	}
	return wire.Empty{}, nil
}

func (s *Server) changeVisibilityBatch(req *request, in *wire.BatchReceiptInput) (any, error) {
	q, err := s.queueFromURL(req, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if err := checkBatch("ChangeMessageVisibilityBatchRequestEntry", entryIDs(in.Entries)); err != nil {
		return nil, err
	}
	out := wire.BatchIDOutput{Successful: []wire.BatchIDResultEntry{}, Failed: []wire.BatchResultErrorEntry{}}
	for _, e := range in.Entries {
		if werr := s.changeOne(q, e.ReceiptHandle, e.VisibilityTimeout); werr != nil {
			out.Failed = append(out.Failed, wire.BatchEntryError(e.Id, werr))
			continue
		}
		out.Successful = append(out.Successful, wire.BatchIDResultEntry{Id: e.Id})
	}
	return wire.VisibilityBatchOutput{BatchIDOutput: out}, nil
}
