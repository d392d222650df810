package amqp

import "github.com/gannet-mq/gannet/internal/broker"

// pace is called after each routed publish with the queues it reached. The
// channel's pacer (broker.Pacer has the rules) holds its reader while the
// fullest of those queues that have consumers is over Config.FlowBacklog
// ready messages and growing, as RabbitMQ's flow control holds a publisher
// that outruns its queues.
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
