package amqp

import (
	"github.com/gannet-mq/gannet/internal/amqp/wire"
	"github.com/gannet-mq/gannet/internal/broker"
)

// How a settlement ends a delivery.
const (
	settleAck = iota
	settleRequeue
	settleReject
)

// settle handles basic.ack, basic.nack and basic.reject.
func (ch *channel) settle(tag uint64, multiple bool, how int) error {
	if ch.tx != nil {
		if err := ch.checkTag(tag, multiple); err != nil {
			return err
		}
		ch.tx.settles = append(ch.tx.settles, txSettle{tag: tag, multiple: multiple, how: how})
		return nil
	}
	return ch.settleNow(tag, multiple, how)
}

func (ch *channel) checkTag(tag uint64, multiple bool) error {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if multiple && tag == 0 {
		return nil
	}
	if _, ok := ch.unacked[tag]; !ok && !multiple {
		return newError(wire.ReplyPreconditionFailed, "unknown delivery tag %d", tag)
	}
	return nil
}

func (ch *channel) settleNow(tag uint64, multiple bool, how int) error {
	var taken []unackedDelivery
	var leaving []*consumer
	ch.mu.Lock()
	if multiple {
		upTo := ch.nextTag
		if tag != 0 && tag < upTo {
			upTo = tag
		}
		if upTo >= ch.settledBelow {
			take := func(t uint64, u unackedDelivery) {
				taken = append(taken, u)
				delete(ch.unacked, t)
			}
			if upTo-ch.settledBelow < uint64(len(ch.unacked)) {
				// Fewer tags to try than deliveries held: a client that
				// acks every n deliveries costs n lookups, not a walk over
				// its whole prefetch window.
				for t := ch.settledBelow; t <= upTo; t++ {
					if u, ok := ch.unacked[t]; ok {
						take(t, u)
					}
				}
			} else {
				for t, u := range ch.unacked {
					if t <= upTo {
						take(t, u)
					}
				}
			}
			ch.settledBelow = upTo + 1
		}
		if len(taken) == 0 && tag > ch.nextTag {
			ch.mu.Unlock()
			return newError(wire.ReplyPreconditionFailed, "unknown delivery tag %d", tag)
		}
	} else {
		u, ok := ch.unacked[tag]
		if !ok {
			ch.mu.Unlock()
			return newError(wire.ReplyPreconditionFailed, "unknown delivery tag %d", tag)
		}
		delete(ch.unacked, tag)
		taken = append(taken, u)
	}
	for _, u := range taken {
		ch.unackedTotal--
		if cs := u.consumer; cs != nil {
			cs.unacked--
			if cs.cancelled && cs.unacked == 0 && ch.consumers[cs.tag] == cs {
				delete(ch.consumers, cs.tag)
				leaving = append(leaving, cs)
			}
			cs.wake()
		}
	}
	if ch.channelPrefetch > 0 {
		for _, cs := range ch.consumers {
			cs.wake()
		}
	}
	ch.mu.Unlock()
	applySettlement(taken, how)
	for _, cs := range leaving {
		cs.leaveCore()
	}
	return nil
}

// applySettlement tells the core, one call per queue.
func applySettlement(taken []unackedDelivery, how int) {
	if len(taken) == 0 {
		return
	}
	// Nearly always one queue: settle it in one call.
	var g broker.Group
	for _, u := range taken {
		if !u.stream {
			g = u.group
			break
		}
	}
	refs := make([]broker.Ref, 0, len(taken))
	var rest []unackedDelivery
	for _, u := range taken {
		if u.stream {
			continue // stream deliveries only free prefetch room
		}
		if u.group == g {
			refs = append(refs, u.ref)
		} else {
			rest = append(rest, u)
		}
	}
	if len(refs) == 0 {
		return
	}
	switch how {
	case settleAck:
		g.Ack(refs...)
	case settleRequeue:
		g.Release(0, refs...)
	case settleReject:
		g.Reject(refs...)
	}
	applySettlement(rest, how)
}

// onRecover redelivers every unacked delivery of the channel.
func (ch *channel) onRecover(requeue, reply bool) error {
	if !requeue {
		return newError(wire.ReplyNotImplemented, "requeue=false")
	}
	if err := ch.settleNow(0, true, settleRequeue); err != nil {
		return err
	}
	if !reply {
		return nil
	}
	return ch.c.send(ch.id, &wire.BasicRecoverOK{})
}
