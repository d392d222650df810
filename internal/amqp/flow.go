package amqp

import (
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
)

// Publisher pacing, in the spirit of RabbitMQ's "flow" state: when a queue
// that has consumers holds more than Config.FlowBacklog ready messages, the
// publishing channel's reader pauses until the consumers have drained half
// of it. If that takes longer than flowMaxPause the consumers are much
// slower than the publisher (or stalled) and pacing stops for
// flowOffPeriod: the queue then absorbs the burst as RabbitMQ's would. Only
// a publisher that merely outruns consumers nearly as fast as itself is
// paced to their speed, which keeps end-to-end latency from growing with a
// backlog that would otherwise build for as long as the run lasts.
const (
	flowCheckEvery = 16                    // publishes between backlog checks
	flowMaxPause   = 20 * time.Millisecond // longest pause before pacing gives up
	flowPoll       = 250 * time.Microsecond
	flowOffPeriod  = time.Second
)

// flowState is a channel's pacing state.
type flowState struct {
	count   int
	offTill time.Time // consumers too slow for pacing: none until then
}

// pace is called after each routed publish. Every flowCheckEvery publishes
// it looks at the queues the publish reached and pauses while the fullest
// one with consumers is over the limit.
func (ch *channel) pace(receipt broker.Receipt) {
	limit := int64(ch.c.s.cfg.FlowBacklog)
	if limit <= 0 {
		return
	}
	f := &ch.flow
	if f.count++; f.count < flowCheckEvery {
		return
	}
	f.count = 0
	now := time.Now()
	if now.Before(f.offTill) {
		return
	}
	b := ch.c.s.b
	var fullest broker.Group
	var ready int64
	for _, name := range receipt.Streams() {
		g, err := b.Queue(name)
		if err != nil || g.ConsumerCount() == 0 {
			continue
		}
		if r := g.Ready(); r > ready {
			fullest, ready = g, r
		}
	}
	if ready <= limit {
		return
	}
	for ready > limit/2 {
		time.Sleep(flowPoll)
		ready = fullest.Ready()
		if time.Since(now) > flowMaxPause {
			// The consumers drain too slowly for pacing to help: let the
			// queue absorb the publisher's rate for a while.
			f.offTill = time.Now().Add(flowOffPeriod)
			return
		}
	}
}
