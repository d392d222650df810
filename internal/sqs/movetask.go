package sqs

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/sqs/wire"
)

// Message move task statuses, as AWS names them.
const (
	taskRunning    = "RUNNING"
	taskCompleted  = "COMPLETED"
	taskCancelling = "CANCELLING"
	taskCancelled  = "CANCELLED"
	taskFailed     = "FAILED"
)

// maxMoveRate is AWS' ceiling on MaxNumberOfMessagesPerSecond.
const maxMoveRate = 500

// keptTasks is how many finished tasks per source ListMessageMoveTasks shows.
const keptTasks = 10

// moveTask moves messages out of a dead-letter queue: back to the queue
// each came from (its dead-letter history names it) or to a destination.
// Tasks live in memory: a restart ends them.
type moveTask struct {
	handle  string
	source  string
	dest    string // "" moves each message back to its source
	rate    int64  // messages per second; 0 is as fast as possible
	started time.Time
	toMove  int64
	moved   atomic.Int64
	cancel  context.CancelFunc

	// status and failure are guarded by Server.mu.
	status  string
	failure string
}

func (s *Server) startMoveTask(req *request, in *wire.StartMessageMoveTaskInput) (any, error) {
	if in.SourceArn == "" {
		return nil, wire.Missing("SourceArn")
	}
	src, err := s.queueByArn(in.SourceArn)
	if err != nil {
		return nil, wire.Errorf(wire.KindResourceNotFound, "The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	if len(s.deadLetterSources(src.name)) == 0 {
		return nil, wire.InvalidParameter("SourceArn", in.SourceArn, "Source queue must be configured as a Dead Letter Queue.")
	}
	t := &moveTask{source: src.name, started: s.clock.Now()}
	if in.DestinationArn != "" {
		dst, err := s.queueByArn(in.DestinationArn)
		if err != nil {
			return nil, wire.Errorf(wire.KindResourceNotFound, "The resource that you specified for the DestinationArn parameter doesn't exist.")
		}
		if dst.fifo != src.fifo || dst.name == src.name {
			return nil, wire.InvalidParameter("DestinationArn", in.DestinationArn, "The destination must be another queue of the same type as the source.")
		}
		t.dest = dst.name
	}
	if in.MaxNumberOfMessagesPerSecond.Set {
		r := in.MaxNumberOfMessagesPerSecond.Value
		if r < 1 || r > maxMoveRate {
			return nil, wire.InvalidParameter("MaxNumberOfMessagesPerSecond", strconv.FormatInt(r, 10), "Value must be between 1 and 500.")
		}
		t.rate = r
	}
	g, err := s.b.Queue(src.name)
	if err != nil {
		return nil, wire.NonExistentQueue()
	}
	t.toMove = g.Ready()
	s.mu.Lock()
	for _, other := range s.tasks[src.name] {
		if other.status == taskRunning || other.status == taskCancelling {
			s.mu.Unlock()
			return nil, wire.Errorf(wire.KindUnsupportedOperation, "There is already a task running. Only one active task is allowed for a source queue arn at a given time.")
		}
	}
	t.handle = base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%s:%d", src.name, t.started.UnixNano()))
	t.status = taskRunning
	ctx, cancel := context.WithCancel(s.ctx)
	t.cancel = cancel
	list := append([]*moveTask{t}, s.tasks[src.name]...)
	if len(list) > keptTasks {
		list = list[:keptTasks]
	}
	s.tasks[src.name] = list
	s.wg.Add(1)
	s.mu.Unlock()
	go s.runMoveTask(ctx, t, g)
	return wire.StartMessageMoveTaskOutput{TaskHandle: t.handle}, nil
}

func (s *Server) runMoveTask(ctx context.Context, t *moveTask, g broker.Group) {
	defer s.wg.Done()
	defer t.cancel()
	err := s.moveMessages(ctx, t, g)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case t.status == taskCancelling || errors.Is(err, context.Canceled):
		t.status = taskCancelled
	case err != nil:
		t.status, t.failure = taskFailed, err.Error()
	default:
		t.status = taskCompleted
	}
}

func (s *Server) moveMessages(ctx context.Context, t *moveTask, g broker.Group) error {
	for t.moved.Load() < t.toMove {
		if err := ctx.Err(); err != nil {
			return err
		}
		want := min(int64(maxBatchEntries), t.toMove-t.moved.Load())
		if t.rate > 0 {
			// Hold the average at the rate: the next batch may start once
			// the messages moved so far have had their share of time.
			due := t.started.Add(time.Duration(float64(t.moved.Load()) / float64(t.rate) * float64(time.Second)))
			if err := s.sleepUntil(ctx, due); err != nil {
				return err
			}
			want = min(want, t.rate)
		}
		ds, err := g.Receive(ctx, broker.ReceiveOptions{Consumer: "sqs-move-task", Max: int(want), Lease: time.Minute})
		if err != nil {
			return err
		}
		if len(ds) == 0 {
			return nil
		}
		if err := s.moveBatch(ctx, t, g, ds); err != nil {
			return err
		}
	}
	return nil
}

// sleepUntil waits until the server's clock reaches at, or ctx ends.
func (s *Server) sleepUntil(ctx context.Context, at time.Time) error {
	d := at.Sub(s.clock.Now())
	if d <= 0 {
		return nil
	}
	done := make(chan struct{})
	timer := s.clock.AfterFunc(d, func() { close(done) })
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func refsOf(ds []broker.Delivered) []broker.Ref {
	refs := make([]broker.Ref, len(ds))
	for i := range ds {
		refs[i] = refOf(&ds[i])
	}
	return refs
}

// moveBatch appends a batch of dead letters to their destinations, one
// append per destination (one round of fsyncs per batch, not one per
// message), waits until they are on disk, and only then deletes them from
// the dead-letter queue. Messages it could not move are released.
func (s *Server) moveBatch(ctx context.Context, t *moveTask, g broker.Group, ds []broker.Delivered) error {
	type destBatch struct {
		name string
		msgs []broker.Message
		refs []broker.Ref
	}
	var batches []*destBatch // in order of first appearance
	var err error
	for i := range ds {
		dest, msg, merr := movedMessage(t, &ds[i])
		if merr != nil { // move the ones before it, as a message-by-message move would
			g.Release(0, refsOf(ds[i:])...)
			err = merr
			break
		}
		j := slices.IndexFunc(batches, func(b *destBatch) bool { return b.name == dest })
		if j < 0 {
			j = len(batches)
			batches = append(batches, &destBatch{name: dest})
		}
		batches[j].msgs = append(batches[j].msgs, msg)
		batches[j].refs = append(batches[j].refs, refOf(&ds[i]))
	}
	var moved, failed []broker.Ref
	var receipts []broker.Receipt
	for _, b := range batches {
		r, aerr := s.b.Append(b.name, 0, b.msgs, broker.PublishOptions{})
		if aerr != nil {
			failed = append(failed, b.refs...)
			err = cmp.Or(err, fmt.Errorf("moving to %s: %w", b.name, aerr))
			continue
		}
		receipts = append(receipts, r)
		moved = append(moved, b.refs...)
	}
	for _, r := range receipts {
		if werr := r.Wait(ctx); werr != nil { // not known to be on disk: they stay
			failed, moved, err = append(failed, moved...), nil, werr
			break
		}
	}
	if len(failed) > 0 {
		g.Release(0, failed...)
	}
	if len(moved) > 0 {
		if _, aerr := g.Ack(moved...); aerr != nil {
			return aerr
		}
		t.moved.Add(int64(len(moved)))
	}
	return err
}

// movedMessage is a dead letter as it goes to dest: back to the queue its
// dead-letter history names, or the task's destination.
func movedMessage(t *moveTask, d *broker.Delivered) (dest string, msg broker.Message, err error) {
	dest = t.dest
	if dest == "" {
		deaths := d.Deaths()
		if len(deaths) == 0 {
			return "", msg, fmt.Errorf("message %s has no source queue to go back to; give a DestinationArn", messageID(&queue{name: t.source}, &d.Record))
		}
		dest = deaths[0].Queue
	}
	msg = broker.Message{Key: d.Key, Value: d.Value, Timestamp: d.Timestamp}
	for _, h := range d.Headers {
		// A moved message starts afresh: no dead-letter history (the core
		// would take a second trip to the same dead-letter queue for a
		// cycle), no delay, and no dedup id that would drop it as a
		// duplicate of itself.
		if h.Key == broker.HeaderDeaths || h.Key == broker.HeaderNotBefore || h.Key == broker.HeaderMessageID {
			continue
		}
		msg.Headers = append(msg.Headers, h)
	}
	return dest, msg, nil
}

func (s *Server) listMoveTasks(req *request, in *wire.ListMessageMoveTasksInput) (any, error) {
	if in.SourceArn == "" {
		return nil, wire.Missing("SourceArn")
	}
	src, err := s.queueByArn(in.SourceArn)
	if err != nil {
		return nil, wire.Errorf(wire.KindResourceNotFound, "The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	max := in.MaxResults.Or(1)
	if max < 1 || max > 10 {
		return nil, wire.InvalidParameter("MaxResults", strconv.FormatInt(max, 10), "Value must be between 1 and 10.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := wire.ListMessageMoveTasksOutput{Results: []wire.MoveTask{}}
	for _, t := range s.tasks[src.name] {
		if int64(len(out.Results)) >= max {
			break
		}
		r := wire.MoveTask{
			Status:                           t.status,
			SourceArn:                        s.arn(t.source),
			ApproximateNumberOfMessagesMoved: t.moved.Load(),
			FailureReason:                    t.failure,
			StartedTimestamp:                 t.started.UnixMilli(),
		}
		if t.status == taskRunning {
			r.TaskHandle = t.handle
		}
		if t.dest != "" {
			r.DestinationArn = s.arn(t.dest)
		}
		if t.rate > 0 {
			rate := t.rate
			r.MaxNumberOfMessagesPerSecond = &rate
		}
		toMove := t.toMove
		r.ApproximateNumberOfMessagesToMove = &toMove
		out.Results = append(out.Results, r)
	}
	return out, nil
}

func (s *Server) cancelMoveTask(req *request, in *wire.CancelMessageMoveTaskInput) (any, error) {
	if in.TaskHandle == "" {
		return nil, wire.Missing("TaskHandle")
	}
	raw, _ := base64.RawURLEncoding.DecodeString(in.TaskHandle)
	source, _, _ := strings.Cut(string(raw), ":")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tasks[source] {
		if t.handle != in.TaskHandle {
			continue
		}
		if t.status != taskRunning {
			return nil, wire.Errorf(wire.KindUnsupportedOperation, "Only active tasks can be cancelled.")
		}
		t.status = taskCancelling
		t.cancel()
		return wire.CancelMessageMoveTaskOutput{ApproximateNumberOfMessagesMoved: t.moved.Load()}, nil
	}
	return nil, wire.Errorf(wire.KindResourceNotFound, "The resource that you specified for the TaskHandle parameter doesn't exist.")
}
