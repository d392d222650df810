package amqp

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
	"github.com/gannet-mq/gannet/internal/broker"
)

// noAckBatch is how many records a no-ack consumer takes per receive; the
// writer's limit holds it back when the client reads slowly.
const noAckBatch = 256

// consumer is one basic.consume. Its goroutine receives batches from the
// queue's group, as many as the prefetch window has room for.
type consumer struct {
	ch       *channel
	tag      string
	queue    string
	group    broker.Group
	coreID   string
	noAck    bool
	prefetch int // per-consumer window; 0 is unlimited
	stream   *streamCursor

	// Guarded by ch.mu.
	unacked   int // deliveries and reservations
	cancelled bool
	blocked   bool // what the queue was last told (consumer priorities)

	// receiveCtx is what the consumer's receives wait under, until
	// channel.flow pauses the channel (stopReceiveLocked). Guarded by ch.mu;
	// receiving is the goroutine's copy for its current receive.
	receiveCtx  context.Context
	stopReceive context.CancelFunc
	receiving   context.Context

	credit     chan struct{}
	batchTimer *time.Timer // waitCredit's, owned by the consumer's goroutine
	ctx        context.Context
	cancel     context.CancelFunc
	done       chan struct{}
	direct     bool // the amq.rabbitmq.reply-to pseudo-consumer
}

// receiveContextLocked is the context for a receive that starts now: it
// ends when the consumer stops or channel.flow pauses the channel. One
// lives until a pause, so a receive costs no allocation. The caller holds
// ch.mu.
func (cs *consumer) receiveContextLocked() context.Context {
	if cs.receiveCtx == nil {
		cs.receiveCtx, cs.stopReceive = context.WithCancel(cs.ctx)
	}
	return cs.receiveCtx
}

// stopReceiveLocked ends a receive that is waiting for a message, so that
// a paused consumer does not take one published after channel.flow-ok; it
// stays in the queue for other consumers. The caller holds ch.mu.
func (cs *consumer) stopReceiveLocked() {
	if cs.stopReceive != nil {
		cs.stopReceive()
		cs.receiveCtx, cs.stopReceive = nil, nil
	}
}

// wake tells the consumer's goroutine that room may have been freed or
// flow resumed, and reports the consumer active again if it now has room,
// so that a settlement frees it for consumer priorities before the next
// frame is read. The caller holds ch.mu.
func (cs *consumer) wake() {
	cs.ch.unblockIfRoomLocked(cs)
	select {
	case cs.credit <- struct{}{}:
	default:
	}
}

// stop ends the consumer's goroutine and waits for it.
func (cs *consumer) stop() {
	if cs.cancel != nil {
		cs.cancel()
		<-cs.done
	}
}

// leaveCore unregisters the consumer, which releases what it still holds.
func (cs *consumer) leaveCore() {
	if cs.direct || cs.stream != nil {
		return
	}
	cs.group.RemoveConsumer(cs.coreID)
	cs.ch.c.s.releaseExclusiveConsumer(cs.queue, cs.coreID)
}

func (ch *channel) onConsume(m *wire.BasicConsume) error {
	tag := m.ConsumerTag
	if tag == "" {
		tag = randomName("amq.ctag-")
	}
	ch.mu.Lock()
	_, dup := ch.consumers[tag]
	ch.mu.Unlock()
	if dup {
		return newError(wire.ReplyNotAllowed, "attempt to reuse consumer tag '%s'", tag)
	}
	if m.Queue == directReplyTo {
		return ch.consumeDirectReply(m, tag)
	}
	info, err := ch.c.s.b.Stream(m.Queue)
	if err != nil {
		return notFound("queue", m.Queue)
	}
	if err := ch.c.checkOwner(info); err != nil {
		return err
	}
	priority, err := consumerPriority(m.Queue, m.Arguments)
	if err != nil {
		return err
	}
	cs := &consumer{ch: ch, tag: tag, queue: m.Queue, noAck: m.NoAck,
		coreID: ch.c.id + "/" + strconv.Itoa(int(ch.id)) + "/" + tag,
		credit: make(chan struct{}, 1), done: make(chan struct{})}
	if info.Config.Kind == broker.KindTopic {
		sc, err := ch.newStreamCursor(m, info)
		if err != nil {
			return err
		}
		cs.stream = sc
	} else {
		g, err := ch.c.s.b.Queue(m.Queue)
		if err != nil {
			return notFound("queue", m.Queue)
		}
		cs.group = g
		// Registered once, already ranked: the queue never sees it at the
		// default priority first.
		if err := ch.c.s.addConsumer(m.Queue, cs.coreID, g, m.Exclusive, broker.ConsumerOptions{Priority: priority}); err != nil {
			return err
		}
	}
	ch.mu.Lock()
	cs.prefetch = ch.consumerPrefetch
	ch.consumers[tag] = cs
	ch.mu.Unlock()
	if !m.NoWait {
		if err := ch.c.send(ch.id, &wire.BasicConsumeOK{ConsumerTag: tag}); err != nil {
			return err
		}
	}
	cs.ctx, cs.cancel = context.WithCancel(context.Background())
	if cs.stream != nil {
		go cs.runStream()
	} else {
		go cs.run()
	}
	return nil
}

func (ch *channel) onCancel(m *wire.BasicCancel) error {
	ch.mu.Lock()
	cs := ch.consumers[m.ConsumerTag]
	ch.mu.Unlock()
	if cs != nil {
		cs.stop()
		ch.mu.Lock()
		cs.cancelled = true
		// Unacked deliveries stay with the channel (the client may still
		// ack them); the consumer leaves the queue once they are settled.
		leave := cs.unacked == 0
		if leave {
			delete(ch.consumers, m.ConsumerTag)
		} else {
			cs.setBlockedLocked(true) // still registered, but takes nothing more
		}
		ch.mu.Unlock()
		if cs.direct {
			ch.c.s.unregisterReplyTo(ch.replyTo)
			ch.replyTo = ""
		}
		if leave {
			cs.leaveCore()
		}
	}
	if m.NoWait {
		return nil
	}
	return ch.c.send(ch.id, &wire.BasicCancelOK{ConsumerTag: m.ConsumerTag})
}

// reserve takes room in the prefetch windows for up to want deliveries (a
// no-ack consumer has no window: it gets want while the channel flows).
// A consumer that gets none is blocked until a settlement, basic.qos or
// channel.flow gives it room again (unblockIfRoomLocked).
// With topUp it takes what room there is, however little (see take).
// held reports room kept back for batching.
// With room, a queue consumer also gets the context its receive waits
// under, taken in the same step so that a pause after it ends the receive.
func (ch *channel) reserve(cs *consumer, want int, topUp bool) (room int, held bool) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	room, held = ch.roomLocked(cs, want, topUp)
	cs.setBlockedLocked(room == 0)
	if !cs.noAck {
		cs.unacked += room
		ch.unackedTotal += room
	}
	if room > 0 && cs.stream == nil {
		cs.receiving = cs.receiveContextLocked()
	}
	return room, held
}

// take reserves room for up to want deliveries, waiting while there is
// none; it reports false when the consumer is stopped instead. Room kept
// back for batching (roomLocked) is waited for at most batchWait: a client
// that acks only once its whole window is delivered is waiting for us.
func (cs *consumer) take(want int) (int, bool) {
	topUp := false
	for {
		room, held := cs.ch.reserve(cs, want, topUp)
		if room > 0 {
			return room, true
		}
		woken, alive := cs.waitCredit(held)
		if !alive {
			return 0, false
		}
		topUp = held && !woken
	}
}

// batchWait is how long a consumer with a little room waits for a quarter
// of its window to free before it delivers into what room it has.
const batchWait = time.Millisecond

// roomLocked is how many deliveries the consumer may take now, up to want;
// held reports that there is room, kept back until a quarter of the window
// is free unless topUp.
func (ch *channel) roomLocked(cs *consumer, want int, topUp bool) (room int, held bool) {
	if ch.shut || cs.cancelled || !ch.flowActive {
		return 0, false
	}
	if cs.noAck {
		return want, false
	}
	limit := 0
	room = want
	if cs.prefetch > 0 {
		room, limit = min(room, cs.prefetch-cs.unacked), cs.prefetch
	}
	if ch.channelPrefetch > 0 {
		room = min(room, ch.channelPrefetch-ch.unackedTotal)
		if limit == 0 || ch.channelPrefetch < limit {
			limit = ch.channelPrefetch
		}
	}
	if room <= 0 {
		return 0, false
	}
	// While the client still holds a good part of its window, wait until a
	// quarter of it is free and refill it in one batch: the client then
	// reads many deliveries per syscall instead of one per ack, and its
	// pipeline never runs dry.
	if !topUp && cs.unacked > 0 && room < limit/4 {
		return 0, true
	}
	return room, false
}

// setBlockedLocked tells the queue whether the consumer takes deliveries
// now, so that consumer priorities pass over it while it does not. Reports
// are made under ch.mu, which keeps those of the consumer's goroutine and
// of the channel's settlements in order; the core never takes ch.mu.
func (cs *consumer) setBlockedLocked(blocked bool) {
	if cs.blocked == blocked || cs.direct || cs.stream != nil {
		return
	}
	cs.blocked = blocked
	cs.group.SetConsumerBlocked(cs.coreID, blocked)
}

// unblockIfRoomLocked reports a blocked consumer active again once it has
// room. It never blocks one: while the consumer's goroutine receives, its
// reservation can make the room look spent.
func (ch *channel) unblockIfRoomLocked(cs *consumer) {
	if room, _ := ch.roomLocked(cs, noAckBatch, false); cs.blocked && room > 0 {
		cs.setBlockedLocked(false)
	}
}

// run is the consumer's goroutine: reserve room, receive, deliver.
func (cs *consumer) run() {
	defer close(cs.done)
	ch := cs.ch
	for {
		room, alive := cs.take(noAckBatch)
		if !alive {
			return
		}
		ds, err := cs.group.Receive(cs.receiving, broker.ReceiveOptions{Consumer: cs.coreID, Max: room, Wait: true})
		ch.unreserve(cs, room-len(ds))
		if err != nil {
			if cs.ctx.Err() == nil && errors.Is(err, broker.ErrClosed) {
				cs.queueGone()
			}
			if len(ds) == 0 {
				if cs.ctx.Err() == nil && errors.Is(err, context.Canceled) {
					continue // channel.flow paused the channel: wait for it to resume
				}
				return
			}
		}
		switch cs.send(ds) {
		case channelShut:
			cs.group.ReleaseConsumer(cs.coreID)
			return
		case consumerStopped:
			// Stopped while paused with a batch in hand: it was never sent.
			cs.group.Release(0, refsOf(ds)...)
			ch.unreserve(cs, len(ds))
			return
		}
	}
}

// What became of a batch handed to deliver or send.
type deliverResult int

const (
	delivered       deliverResult = iota
	flowPaused                    // channel.flow paused the channel: nothing was sent
	channelShut                   // the channel has closed: nothing was sent
	consumerStopped               // stopped while paused: nothing was sent
)

// send delivers a batch, waiting while channel.flow has paused the
// channel: a batch received just before the pause goes out when it ends,
// never after channel.flow-ok, as in RabbitMQ.
func (cs *consumer) send(ds []broker.Delivered) deliverResult {
	for {
		if res := cs.ch.deliver(cs, ds); res != flowPaused {
			return res
		}
		if _, alive := cs.waitCredit(false); !alive {
			return consumerStopped
		}
	}
}

// waitCredit waits until the consumer is woken (room freed, flow
// resumed), or with batching for at most batchWait; alive is false when
// the consumer is stopped instead.
func (cs *consumer) waitCredit(batching bool) (woken, alive bool) {
	var expired <-chan time.Time
	if batching {
		if cs.batchTimer == nil {
			cs.batchTimer = time.NewTimer(batchWait)
		} else {
			cs.batchTimer.Reset(batchWait)
		}
		defer cs.batchTimer.Stop()
		expired = cs.batchTimer.C
	}
	select {
	case <-cs.credit:
		return true, true
	case <-expired:
		return false, true
	case <-cs.ctx.Done():
		return false, false
	}
}

// unreserve gives back room that reserve took and no delivery used.
func (ch *channel) unreserve(cs *consumer, n int) {
	if n == 0 || cs.noAck {
		return
	}
	ch.mu.Lock()
	cs.unacked -= n
	ch.unackedTotal -= n
	ch.mu.Unlock()
}

// queueGone tells a client whose queue was deleted that its consumer is
// cancelled (consumer_cancel_notify).
func (cs *consumer) queueGone() {
	ch := cs.ch
	ch.mu.Lock()
	if ch.shut {
		ch.mu.Unlock()
		return
	}
	delete(ch.consumers, cs.tag)
	ch.mu.Unlock()
	ch.c.send(ch.id, &wire.BasicCancel{ConsumerTag: cs.tag, NoWait: true})
}

// deliver sends a batch to the client and records what awaits an ack. A
// stream consumer's deliveries carry their offset in x-stream-offset and
// are never settled in the core. It sends nothing when the channel has
// closed or channel.flow has paused it meanwhile. The flow check and the
// frames share the writer's lock with channel.flow-ok, so every delivery
// is written before the flow-ok or not at all.
func (ch *channel) deliver(cs *consumer, ds []broker.Delivered) deliverResult {
	if len(ds) == 0 {
		return delivered
	}
	buf, ok := ch.c.out.lockRoom()
	if !ok {
		ch.c.out.unlock(buf)
		return channelShut
	}
	ch.mu.Lock()
	if ch.shut || !ch.flowActive {
		shut := ch.shut
		ch.mu.Unlock()
		ch.c.out.unlock(buf)
		if shut {
			return channelShut
		}
		return flowPaused
	}
	now := time.Now().UnixNano()
	for i := range ds {
		d := &ds[i]
		ch.nextTag++
		if !cs.noAck {
			ch.unacked[ch.nextTag] = unackedDelivery{consumer: cs, group: cs.group, ref: refOf(d),
				stream: cs.stream != nil, at: now}
		}
		dl := fromRecord(&d.Record, d.Count, cs.queue)
		if cs.stream != nil {
			setHeader(&dl.props, "x-stream-offset", d.Offset)
		}
		buf = appendContent(buf, ch.id, &wire.BasicDeliver{ConsumerTag: cs.tag, DeliveryTag: ch.nextTag,
			Redelivered: d.Redelivered, Exchange: dl.exchange, RoutingKey: dl.routingKey}, &dl.props, d.Value, ch.c.frameMax)
	}
	ch.mu.Unlock()
	ch.c.out.unlock(buf)
	if cs.noAck {
		cs.group.Ack(refsOf(ds)...)
	}
	return delivered
}

// consumerPriority reads basic.consume's x-priority argument: any integer
// type, 0 when absent.
func consumerPriority(queue string, args wire.Table) (int, error) {
	v, ok := args["x-priority"]
	if !ok {
		return 0, nil
	}
	n, err := intArg(v)
	if err != nil {
		return 0, newError(wire.ReplyPreconditionFailed, "invalid arg 'x-priority' for queue '%s' in vhost '/': %v", queue, err)
	}
	return int(n), nil
}
