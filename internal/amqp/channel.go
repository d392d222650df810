package amqp

import (
	"context"
	"strconv"
	"sync"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
	"github.com/gannet-mq/gannet/internal/broker"
)

// Where a channel is in receiving a published message.
const (
	expectMethod = iota
	expectHeader
	expectBody
)

// channel is one AMQP channel. Fields above mu belong to the reader
// goroutine; those below are shared with consumer goroutines.
type channel struct {
	c  *conn
	id uint16

	state      int
	pub        wire.BasicPublish // reused decode target for the hot path
	publishing publishing
	closing    bool // channel.close sent, waiting for close-ok
	closed     bool
	confirm    bool
	confirms   *confirmer
	publishSeq uint64
	tx         *txState
	replyTo    string // this channel's direct reply-to name, once it consumes it
	// unsynced is the receipt of the channel's latest publish while it may
	// not be readable yet; basic.get and declare-ok counts wait for it so a
	// client sees its own publishes, as with RabbitMQ.
	// Only recent receipts are kept: older ones are durable by now, as
	// the log fsyncs continuously.
	unsynced  []broker.Receipt
	flow      broker.Pacer // publisher pacing, see pace
	lastQueue string       // the queue declared last, for empty queue names
	getID     string       // core consumer name for basic.get deliveries

	mu               sync.Mutex
	shut             bool
	nextTag          uint64
	settledBelow     uint64 // no tag below it is in unacked: where a multiple ack starts
	unacked          map[uint64]unackedDelivery
	unackedTotal     int // deliveries and reservations counted by a global prefetch
	consumerPrefetch int
	channelPrefetch  int
	flowActive       bool
	consumers        map[string]*consumer
	getGroups        map[string]broker.Group
}

// publishing is the message being received: method, header, body so far.
type publishing struct {
	exchange   string
	routingKey string
	mandatory  bool
	props      wire.Properties
	size       int
	body       []byte
}

// unackedDelivery is a delivery the client has not settled yet.
type unackedDelivery struct {
	consumer *consumer // nil for basic.get
	group    broker.Group
	stream   bool  // from a stream queue: settling only frees prefetch room
	at       int64 // when it was delivered, Unix ns (consumer timeout)
	ref      broker.Ref
}

func newChannel(c *conn, id uint16) *channel {
	return &channel{
		c: c, id: id,
		getID:      c.id + "/" + strconv.Itoa(int(id)) + "/get",
		unacked:    make(map[uint64]unackedDelivery),
		consumers:  make(map[string]*consumer),
		getGroups:  make(map[string]broker.Group),
		flowActive: true,
	}
}

// handleFrame handles one frame for an open channel.
func (ch *channel) handleFrame(f wire.Frame) error {
	if ch.closing {
		return ch.whileClosing(f)
	}
	switch ch.state {
	case expectMethod:
		if f.Type != wire.FrameMethod {
			return newError(wire.ReplyUnexpectedFrame, "expected method frame, got non method frame instead")
		}
		classID, methodID, args, err := wire.SplitMethodPayload(f.Payload)
		if err != nil {
			return err
		}
		var m wire.Method
		if classID == wire.ClassBasic && methodID == 40 {
			if err := ch.pub.DecodeArgs(args); err != nil {
				return err
			}
			m = &ch.pub
		} else if m, err = wire.DecodeMethod(classID, methodID, args); err != nil {
			return err
		}
		return ch.afterMethod(m, ch.handleMethod(m))
	case expectHeader:
		if f.Type != wire.FrameHeader {
			return newError(wire.ReplyUnexpectedFrame, "expected content header for class 60, got non content header frame instead")
		}
		var h wire.ContentHeader
		if err := h.Decode(f.Payload); err != nil { // decoded values never alias the payload
			return err
		}
		return ch.afterMethod(&ch.pub, ch.onContentHeader(&h))
	default:
		if f.Type != wire.FrameBody {
			return newError(wire.ReplyUnexpectedFrame, "expected content body, got non content body frame instead")
		}
		return ch.afterMethod(&ch.pub, ch.onBody(f.Payload))
	}
}

// afterMethod turns a soft error into channel.close and passes hard ones up.
func (ch *channel) afterMethod(m wire.Method, err error) error {
	if err == nil {
		return nil
	}
	ae := asAMQPError(err, m)
	if ae.connectionLevel() {
		return ae
	}
	ch.closeWithError(ae)
	return nil
}

// closeWithError sends channel.close and tears the channel down; frames are
// ignored until the client answers.
func (ch *channel) closeWithError(ae *amqpError) {
	ch.closing = true
	ch.state = expectMethod
	ch.shutdown()
	ch.c.send(ch.id, &wire.ChannelClose{ReplyCode: ae.code, ReplyText: ae.replyText(),
		FailingClassID: ae.classID, FailingMethodID: ae.methodID})
}

// whileClosing waits for channel.close-ok (or a crossing channel.close).
func (ch *channel) whileClosing(f wire.Frame) error {
	if f.Type != wire.FrameMethod {
		return nil
	}
	m, err := wire.ParseMethodFrame(f.Payload)
	if err != nil {
		return nil
	}
	switch m.(type) {
	case *wire.ChannelCloseOK:
		delete(ch.c.channels, ch.id)
	case *wire.ChannelClose:
		ch.c.send(ch.id, &wire.ChannelCloseOK{})
		delete(ch.c.channels, ch.id)
	}
	return nil
}

func (ch *channel) handleMethod(m wire.Method) error {
	if err := ch.defaultQueueName(m); err != nil {
		return err
	}
	switch m := m.(type) {
	case *wire.BasicPublish:
		return ch.onPublish(m)
	case *wire.BasicAck:
		return ch.settle(m.DeliveryTag, m.Multiple, settleAck)
	case *wire.BasicNack:
		if m.Requeue {
			return ch.settle(m.DeliveryTag, m.Multiple, settleRequeue)
		}
		return ch.settle(m.DeliveryTag, m.Multiple, settleReject)
	case *wire.BasicReject:
		if m.Requeue {
			return ch.settle(m.DeliveryTag, false, settleRequeue)
		}
		return ch.settle(m.DeliveryTag, false, settleReject)
	case *wire.BasicQos:
		return ch.onQos(m)
	case *wire.BasicConsume:
		return ch.onConsume(m)
	case *wire.BasicCancel:
		return ch.onCancel(m)
	case *wire.BasicGet:
		return ch.onGet(m)
	case *wire.BasicRecover:
		return ch.onRecover(m.Requeue, true)
	case *wire.BasicRecoverAsync:
		return ch.onRecover(m.Requeue, false)
	case *wire.ExchangeDeclare:
		return ch.onExchangeDeclare(m)
	case *wire.ExchangeDelete:
		return ch.onExchangeDelete(m)
	case *wire.ExchangeBind:
		return ch.onExchangeBind(m, true)
	case *wire.ExchangeUnbind:
		return ch.onExchangeBind(&wire.ExchangeBind{Destination: m.Destination, Source: m.Source,
			RoutingKey: m.RoutingKey, NoWait: m.NoWait, Arguments: m.Arguments}, false)
	case *wire.QueueDeclare:
		return ch.onQueueDeclare(m)
	case *wire.QueueBind:
		return ch.onQueueBind(m, true)
	case *wire.QueueUnbind:
		return ch.onQueueBind(&wire.QueueBind{Queue: m.Queue, Exchange: m.Exchange,
			RoutingKey: m.RoutingKey, Arguments: m.Arguments}, false)
	case *wire.QueuePurge:
		return ch.onQueuePurge(m)
	case *wire.QueueDelete:
		return ch.onQueueDelete(m)
	case *wire.ConfirmSelect:
		return ch.onConfirmSelect(m)
	case *wire.TxSelect:
		return ch.onTxSelect()
	case *wire.TxCommit:
		return ch.onTxCommit()
	case *wire.TxRollback:
		return ch.onTxRollback()
	case *wire.ChannelFlow:
		ch.mu.Lock()
		ch.flowActive = m.Active
		if !m.Active {
			for _, cs := range ch.consumers {
				cs.setBlockedLocked(true) // lower-priority consumers elsewhere take over
				// A receive waiting for a message must not take one published
				// after the flow-ok; a batch already taken is held (deliver).
				cs.stopReceiveLocked()
			}
		}
		ch.mu.Unlock()
		if m.Active {
			ch.wakeConsumers()
		}
		return ch.c.send(ch.id, &wire.ChannelFlowOK{Active: m.Active})
	case *wire.ChannelFlowOK:
		return nil
	case *wire.ChannelClose:
		ch.shutdown()
		delete(ch.c.channels, ch.id)
		return ch.c.send(ch.id, &wire.ChannelCloseOK{})
	case *wire.ChannelCloseOK:
		return nil
	case *wire.ChannelOpen:
		return newError(wire.ReplyChannelError, "second 'channel.open' seen")
	}
	if !wire.ClientMaySend(m.ClassID(), m.MethodID()) {
		return newError(wire.ReplyCommandInvalid, "%s is not sent by clients", m.Name())
	}
	return newError(wire.ReplyNotImplemented, "%s is not implemented", m.Name())
}

// defaultQueueName fills in an empty queue name with the queue the channel
// declared last, as the specification and RabbitMQ do.
func (ch *channel) defaultQueueName(m wire.Method) error {
	var q *string
	switch m := m.(type) {
	case *wire.QueueBind:
		q = &m.Queue
	case *wire.QueueUnbind:
		q = &m.Queue
	case *wire.QueuePurge:
		q = &m.Queue
	case *wire.QueueDelete:
		q = &m.Queue
	case *wire.BasicConsume:
		q = &m.Queue
	case *wire.BasicGet:
		q = &m.Queue
	default:
		return nil
	}
	if *q != "" {
		return nil
	}
	if ch.lastQueue == "" {
		return newError(wire.ReplyNotFound, "no previously declared queue")
	}
	*q = ch.lastQueue
	return nil
}

// shutdown ends the channel: consumers stop, unacked deliveries go back to
// their queues (redelivered), confirms still owed are sent.
func (ch *channel) shutdown() {
	if ch.closed {
		return
	}
	ch.closed = true
	ch.mu.Lock()
	ch.shut = true
	consumers := make([]*consumer, 0, len(ch.consumers))
	for _, cs := range ch.consumers {
		consumers = append(consumers, cs)
	}
	ch.consumers = make(map[string]*consumer)
	ch.unacked = make(map[uint64]unackedDelivery)
	ch.unackedTotal = 0
	gets := ch.getGroups
	ch.getGroups = nil
	ch.mu.Unlock()
	for _, cs := range consumers {
		cs.stop()
		cs.leaveCore()
	}
	for _, g := range gets {
		g.ReleaseConsumer(ch.getID)
	}
	if ch.replyTo != "" {
		ch.c.s.unregisterReplyTo(ch.replyTo)
	}
	if ch.confirms != nil {
		// Confirms owed go out before channel.close-ok, so none can reach a
		// channel the client reopens under the same number.
		ch.confirms.close()
		<-ch.confirms.done
	}
}

// syncPublishes waits until the channel's own publishes are readable.
func (ch *channel) syncPublishes() {
	for _, r := range ch.unsynced {
		r.Wait(context.Background())
	}
	ch.unsynced = ch.unsynced[:0]
}

func (ch *channel) wakeConsumers() {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	for _, cs := range ch.consumers {
		cs.wake()
	}
}

func (ch *channel) onQos(m *wire.BasicQos) error {
	if m.PrefetchSize != 0 {
		return newError(wire.ReplyNotImplemented, "prefetch_size!=0 (%d)", m.PrefetchSize)
	}
	ch.mu.Lock()
	if m.Global {
		ch.channelPrefetch = int(m.PrefetchCount)
	} else {
		ch.consumerPrefetch = int(m.PrefetchCount)
	}
	ch.mu.Unlock()
	ch.wakeConsumers()
	return ch.c.send(ch.id, &wire.BasicQosOK{})
}
