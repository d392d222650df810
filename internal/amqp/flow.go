package amqp

import "github.com/gannet-mq/gannet/internal/broker"

// flowState is a channel's publisher pacing (broker.Pacer): while a queue
// the channel publishes to holds more than Config.FlowBacklog ready
// messages and has consumers, the channel's reader pauses until they have
// drained half of it, as RabbitMQ's flow control holds a publisher that
// outruns its queues.
type flowState = broker.Pacer

// pace is called after each routed publish with the queues it reached.
func (ch *channel) pace(receipt broker.Receipt) {
	limit := int64(ch.c.s.cfg.FlowBacklog)
	if limit <= 0 || !ch.flow.Due(1) {
		return
	}
	b := ch.c.s.b
	var groups []broker.Group
	for _, name := range receipt.Streams() {
		if g, err := b.Queue(name); err == nil && g.ConsumerCount() > 0 {
			groups = append(groups, g)
		}
	}
	ch.flow.Hold(limit, groups)
}
