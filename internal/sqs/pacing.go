package sqs

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
)

// DefaultFlowBacklog is the visible backlog of a queue being received from
// above which sends to it are paced (broker.Pacer): senders that outrun
// receivers nearly as fast as themselves are held to their speed, so the
// messages a consumer gets are milliseconds old, not seconds. SQS itself
// has no such pacing; a send answered a little later is the only sign of
// it, and receivers much slower than the senders are never waited for.
// Two hundred, AMQP's default, is twenty full receives.
const DefaultFlowBacklog = 200

// receiveWindow is how recently a queue must have been received from to
// count as being read: a queue nobody receives from never paces its
// senders.
const receiveWindow = time.Second

// queuePacing is the pacing state of one queue's senders. Sends to a queue
// arrive on many HTTP connections, so they share one Pacer under mu: a
// hold pauses every sender to that queue, which is the point.
type queuePacing struct {
	mu          sync.Mutex
	pacer       broker.Pacer
	lastReceive atomic.Int64 // unix ns
}

// queuePacing returns the pacing state of a queue, creating it. Every send
// and receive looks it up, so the states are in a sync.Map (written once
// per queue, then only read) rather than under s.mu, which sweeps and
// DeleteQueue hold for longer.
func (s *Server) queuePacing(name string) *queuePacing {
	if qp, ok := s.pacing.Load(name); ok {
		return qp.(*queuePacing)
	}
	qp, _ := s.pacing.LoadOrStore(name, &queuePacing{})
	return qp.(*queuePacing)
}

// noteReceive records that the queue is being received from.
func (s *Server) noteReceive(name string) {
	if s.cfg.FlowBacklog > 0 {
		s.queuePacing(name).lastReceive.Store(time.Now().UnixNano())
	}
}

// paceSends is called after n messages were sent to the queue.
func (s *Server) paceSends(name string, n int) {
	limit := int64(s.cfg.FlowBacklog)
	if limit <= 0 || n == 0 {
		return
	}
	qp := s.queuePacing(name)
	qp.mu.Lock()
	defer qp.mu.Unlock()
	if !qp.pacer.Due(n) {
		return
	}
	var groups []broker.Group
	if qp.lastReceive.Load() >= time.Now().Add(-receiveWindow).UnixNano() {
		if g, err := s.b.Queue(name); err == nil {
			groups = append(groups, g)
		}
	}
	qp.pacer.Hold(limit, groups)
}
