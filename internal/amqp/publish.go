package amqp

import (
	"context"
	"errors"
	"strings"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
	"github.com/gannet-mq/gannet/internal/broker"
)

// directReplyTo is the pseudo-queue of RabbitMQ's direct reply-to.
const directReplyTo = "amq.rabbitmq.reply-to"

func (ch *channel) onPublish(m *wire.BasicPublish) error {
	if m.Immediate {
		return newError(wire.ReplyNotImplemented, "immediate=true")
	}
	ch.publishing = publishing{exchange: m.Exchange, routingKey: m.RoutingKey, mandatory: m.Mandatory, body: ch.publishing.body[:0]}
	ch.state = expectHeader
	return nil
}

func (ch *channel) onContentHeader(h *wire.ContentHeader) error {
	limit := ch.c.s.cfg.MaxMessageBytes
	if h.BodySize > uint64(limit) {
		return newError(wire.ReplyPreconditionFailed, "message size %d is larger than configured max size %d", h.BodySize, limit)
	}
	ch.publishing.props = h.Properties
	ch.publishing.size = int(h.BodySize)
	if h.BodySize == 0 {
		ch.state = expectMethod
		return ch.publishComplete()
	}
	// The body grows as frames arrive rather than to the announced size at
	// once: a client cannot make the server allocate what it never sends.
	if want := min(ch.publishing.size, 64<<10); cap(ch.publishing.body) < want {
		ch.publishing.body = make([]byte, 0, want)
	}
	ch.state = expectBody
	return nil
}

func (ch *channel) onBody(payload []byte) error {
	p := &ch.publishing
	if len(p.body)+len(payload) > p.size {
		return newError(wire.ReplyFrameError, "content body of %d bytes exceeds the %d announced", len(p.body)+len(payload), p.size)
	}
	p.body = append(p.body, payload...)
	if len(p.body) < p.size {
		return nil
	}
	ch.state = expectMethod
	return ch.publishComplete()
}

// publishComplete hands a whole message to the core. It never waits for
// the disk: in confirm mode the receipt goes to the channel's confirmer.
func (ch *channel) publishComplete() error {
	ch.c.waitUnblocked()
	p := &ch.publishing
	if ch.tx != nil {
		cp := *p
		cp.body = append([]byte(nil), p.body...)
		ch.tx.publishes = append(ch.tx.publishes, cp)
		return nil
	}
	var seq uint64
	if ch.confirm {
		ch.publishSeq++
		seq = ch.publishSeq
	}
	receipt, routed, err := ch.publishOne(p)
	if err != nil {
		if !errors.Is(err, broker.ErrQueueFull) {
			return err
		}
		// reject-publish overflow: the message is refused with a nack.
		if ch.confirm {
			ch.confirms.add(confirmItem{seq: seq, nack: true})
		}
		return nil
	}
	if !routed && p.mandatory {
		ch.sendReturn(p, wire.ReplyNoRoute, "NO_ROUTE")
	}
	if ch.confirm {
		ch.confirms.add(confirmItem{seq: seq, receipt: receipt})
	}
	if routed {
		ch.pace(receipt)
		if len(ch.unsynced) >= 64 {
			ch.unsynced = append(ch.unsynced[:0], ch.unsynced[32:]...)
		}
		ch.unsynced = append(ch.unsynced, receipt)
	}
	return nil
}

// publishOne routes one message; routed is false when no queue took it.
// broker.ErrQueueFull means a full reject-publish queue refused it; the
// receipt then covers the queues that took it.
func (ch *channel) publishOne(p *publishing) (broker.Receipt, bool, error) {
	if p.exchange == "" && strings.HasPrefix(p.routingKey, directReplyTo+".") {
		return broker.Receipt{}, ch.deliverDirectReply(p), nil
	}
	if p.exchange == "" && p.routingKey == directReplyTo {
		return broker.Receipt{}, false, nil
	}
	if p.props.ReplyTo == directReplyTo {
		if ch.replyTo == "" {
			return broker.Receipt{}, false, newError(wire.ReplyPreconditionFailed, "fast reply consumer does not exist")
		}
		p.props.ReplyTo = ch.replyTo
	}
	if p.props.ClusterID != "" {
		return broker.Receipt{}, false, newError(wire.ReplyPreconditionFailed, "cluster_id property not supported")
	}
	msg, opts, err := toMessage(&p.props, p.body)
	if err != nil {
		return broker.Receipt{}, false, err
	}
	receipt, err := ch.c.s.b.Publish(p.exchange, p.routingKey, msg, opts)
	if err != nil {
		if errors.Is(err, broker.ErrNotFound) {
			return receipt, false, notFound("exchange", p.exchange)
		}
		if errors.Is(err, broker.ErrInternalExchange) {
			return receipt, false, newError(wire.ReplyAccessRefused,
				"cannot publish to internal exchange '%s' in vhost '/'", p.exchange)
		}
		if errors.Is(err, broker.ErrMessageTooLarge) {
			return receipt, false, newError(wire.ReplyPreconditionFailed,
				"message size %d is larger than configured max size %d", len(p.body), ch.c.s.cfg.MaxMessageBytes)
		}
		return receipt, false, err
	}
	return receipt, receipt.Routed > 0, nil
}

// sendReturn sends basic.return with the message that could not be routed.
func (ch *channel) sendReturn(p *publishing, code uint16, text string) {
	buf := ch.c.out.lock()
	buf = appendContent(buf, ch.id, &wire.BasicReturn{ReplyCode: code, ReplyText: text,
		Exchange: p.exchange, RoutingKey: p.routingKey}, &p.props, p.body, ch.c.frameMax)
	ch.c.out.unlock(buf)
}

// appendContent appends a content-carrying method, its header and body.
func appendContent(buf []byte, channel uint16, m wire.Method, props *wire.Properties, body []byte, frameMax uint32) []byte {
	start := len(buf)
	buf, err := wire.AppendMethodFrame(buf, channel, m)
	if err != nil {
		return buf[:start]
	}
	h := wire.ContentHeader{ClassID: wire.ClassBasic, BodySize: uint64(len(body)), Properties: *props}
	buf, err = wire.AppendContentHeaderFrame(buf, channel, &h)
	if err != nil {
		// A header that cannot be encoded (a table too large): send the
		// message without its application headers rather than nothing.
		h.Properties.Headers = nil
		h.Properties.Flags &^= wire.BasicFlagHeaders
		buf, _ = wire.AppendContentHeaderFrame(buf, channel, &h)
	}
	return wire.AppendBodyFrames(buf, channel, body, frameMax)
}

func (ch *channel) onConfirmSelect(m *wire.ConfirmSelect) error {
	if ch.tx != nil {
		return newError(wire.ReplyPreconditionFailed, "cannot switch from tx to confirm mode")
	}
	if !ch.confirm {
		ch.confirm = true
		ch.confirms = newConfirmer(ch)
	}
	if m.NoWait {
		return nil
	}
	return ch.c.send(ch.id, &wire.ConfirmSelectOK{})
}

// confirmItem is one publish awaiting its confirm.
type confirmItem struct {
	seq     uint64
	receipt broker.Receipt
	nack    bool
}

// confirmer sends a confirm-mode channel's basic.ack and basic.nack frames
// in publish order, each only after the core's receipt says the message is
// on disk. Receipts that are durable by the time it looks are answered with
// one basic.ack multiple=true.
type confirmer struct {
	ch   *channel
	in   chan confirmItem
	done chan struct{}
}

func newConfirmer(ch *channel) *confirmer {
	c := &confirmer{ch: ch, in: make(chan confirmItem, 8192), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *confirmer) add(it confirmItem) { c.in <- it }

func (c *confirmer) close() { close(c.in) }

func (c *confirmer) run() {
	defer close(c.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.ch.c.done:
			// The connection is gone: nobody is left to confirm to, so the
			// waits may give up.
			cancel()
		case <-c.done:
		}
	}()
	probe, cancelProbe := context.WithCancel(context.Background())
	cancelProbe()             // a done context makes Wait a check that never blocks
	var acked, pending uint64 // last confirmed; last durable but not yet sent
	flush := func() {
		if pending > acked {
			c.ch.c.send(c.ch.id, &wire.BasicAck{DeliveryTag: pending, Multiple: pending-acked > 1})
			acked = pending
		}
	}
	for it := range c.in {
		// Confirm what is durable already before waiting for the next
		// fsync, or those confirms would wait a whole fsync longer.
		if !it.nack && it.receipt.Wait(probe) != nil {
			flush()
		}
		if it.nack || it.receipt.Wait(ctx) != nil {
			flush()
			c.ch.c.send(c.ch.id, &wire.BasicNack{DeliveryTag: it.seq})
			acked = it.seq
		}
		pending = it.seq
		// Coalesce: send once nothing more is queued.
		if len(c.in) == 0 {
			flush()
		}
	}
	flush()
}

// deliverDirectReply hands a reply straight to the channel consuming
// amq.rabbitmq.reply-to, as RabbitMQ does, without a queue.
func (ch *channel) deliverDirectReply(p *publishing) bool {
	target := ch.c.s.lookupReplyTo(p.routingKey)
	if target == nil {
		return false
	}
	return target.pushDirect(p)
}
