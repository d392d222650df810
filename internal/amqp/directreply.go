package amqp

import (
	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

// consumeDirectReply starts the amq.rabbitmq.reply-to pseudo-consumer.
func (ch *channel) consumeDirectReply(m *wire.BasicConsume, tag string) error {
	if !m.NoAck {
		return newError(wire.ReplyPreconditionFailed, "reply consumer cannot acknowledge")
	}
	if ch.replyTo != "" {
		return newError(wire.ReplyPreconditionFailed, "reply consumer already set")
	}
	ch.replyTo = randomName(directReplyTo + ".")
	cs := &consumer{ch: ch, tag: tag, queue: directReplyTo, noAck: true, direct: true}
	ch.mu.Lock()
	ch.consumers[tag] = cs
	ch.mu.Unlock()
	ch.c.s.registerReplyTo(ch.replyTo, ch)
	if m.NoWait {
		return nil
	}
	return ch.c.send(ch.id, &wire.BasicConsumeOK{ConsumerTag: tag})
}

// pushDirect delivers a direct reply on this channel's reply consumer.
func (ch *channel) pushDirect(p *publishing) bool {
	buf := ch.c.out.lock()
	ch.mu.Lock()
	var cs *consumer
	for _, c := range ch.consumers {
		if c.direct {
			cs = c
		}
	}
	if cs == nil || ch.shut {
		ch.mu.Unlock()
		ch.c.out.unlock(buf)
		return false
	}
	ch.nextTag++
	buf = appendContent(buf, ch.id, &wire.BasicDeliver{ConsumerTag: cs.tag, DeliveryTag: ch.nextTag,
		Exchange: p.exchange, RoutingKey: p.routingKey}, &p.props, p.body, ch.c.frameMax)
	ch.mu.Unlock()
	ch.c.out.unlock(buf)
	return true
}
