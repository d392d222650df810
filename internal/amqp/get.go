package amqp

import (
	"context"
	"time"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
	"github.com/gannet-mq/gannet/internal/broker"
)

// onGet hands out one message with basic.get-ok, or basic.get-empty.
func (ch *channel) onGet(m *wire.BasicGet) error {
	info, err := ch.c.s.b.Stream(m.Queue)
	if err != nil {
		return notFound("queue", m.Queue)
	}
	if err := ch.c.checkOwner(info); err != nil {
		return err
	}
	if info.Config.Kind == broker.KindTopic {
		return newError(wire.ReplyPreconditionFailed, "queue '%s' in vhost '/' is a stream queue, which does not support basic.get", m.Queue)
	}
	g, err := ch.c.s.b.Queue(m.Queue)
	if err != nil {
		return notFound("queue", m.Queue)
	}
	ch.syncPublishes()
	ds, err := g.Receive(context.Background(), broker.ReceiveOptions{Consumer: ch.getID, Max: 1})
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		return ch.c.send(ch.id, &wire.BasicGetEmpty{})
	}
	d := &ds[0]
	ready, _ := ch.c.s.queueCounts(m.Queue)
	dl := fromRecord(&d.Record, d.Count, m.Queue)
	buf := ch.c.out.lock()
	ch.mu.Lock()
	ch.nextTag++
	tag := ch.nextTag
	if !m.NoAck {
		ch.unacked[tag] = unackedDelivery{group: g, ref: refOf(d), at: time.Now().UnixNano()}
		ch.unackedTotal++
		ch.getGroups[m.Queue] = g
	}
	ch.mu.Unlock()
	buf = appendContent(buf, ch.id, &wire.BasicGetOK{DeliveryTag: tag, Redelivered: d.Redelivered,
		Exchange: dl.exchange, RoutingKey: dl.routingKey, MessageCount: ready}, &dl.props, d.Value, ch.c.frameMax)
	ch.c.out.unlock(buf)
	if m.NoAck {
		g.Ack(refOf(d))
	}
	return nil
}
