package amqp

import (
	"errors"
	"time"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
	"github.com/gannet-mq/gannet/internal/broker"
)

// streamCursor is a consumer of a stream queue (x-queue-type stream, or any
// topic): it reads the log from an offset chosen with x-stream-offset and
// never removes anything. Acks only free prefetch room, as in RabbitMQ.
type streamCursor struct {
	parts []broker.Partition
	next  []int64
}

func (ch *channel) newStreamCursor(m *wire.BasicConsume, info broker.StreamInfo) (*streamCursor, error) {
	if m.NoAck {
		return nil, newError(wire.ReplyPreconditionFailed, "stream queue '%s' in vhost '/' requires manual acknowledgements (no_ack=false)", m.Queue)
	}
	sc := &streamCursor{}
	for i := 0; i < max(info.Config.Partitions, 1); i++ {
		p, err := ch.c.s.b.Partition(m.Queue, int32(i))
		if err != nil {
			return nil, err
		}
		start, err := streamStart(p, m.Arguments["x-stream-offset"])
		if err != nil {
			return nil, err
		}
		sc.parts = append(sc.parts, p)
		sc.next = append(sc.next, start)
	}
	return sc, nil
}

// streamStart reads x-stream-offset: first, last, next (the default), an
// offset, or a timestamp.
func streamStart(p broker.Partition, v any) (int64, error) {
	switch v := v.(type) {
	case nil:
		return p.EndOffset(), nil
	case string:
		switch v {
		case "first":
			return p.StartOffset(), nil
		case "last":
			return max(p.EndOffset()-1, p.StartOffset()), nil
		case "next":
			return p.EndOffset(), nil
		}
		if d, err := parseMaxAge(v); err == nil {
			return p.OffsetForTime(time.Now().Add(-d).UnixMilli())
		}
	case time.Time:
		return p.OffsetForTime(v.UnixMilli())
	default:
		if n, err := nonNegative(v); err == nil {
			return max(n, p.StartOffset()), nil
		}
	}
	return 0, newError(wire.ReplyPreconditionFailed, "invalid x-stream-offset %v", v)
}

// runStream is a stream consumer's goroutine.
func (cs *consumer) runStream() {
	defer close(cs.done)
	ch := cs.ch
	sc := cs.stream
	for {
		room, alive := cs.take(noAckBatch)
		if !alive {
			return
		}
		var got []broker.Delivered
		for i, p := range sc.parts {
			if len(got) >= room {
				break
			}
			recs, err := p.Read(sc.next[i], 1<<20, room-len(got))
			if errors.Is(err, broker.ErrOffsetOutOfRange) {
				sc.next[i] = max(sc.next[i], p.StartOffset())
				continue
			}
			if err != nil {
				ch.unreserve(cs, room)
				if cs.ctx.Err() == nil {
					cs.queueGone() // the stream was deleted
				}
				return
			}
			for _, r := range recs {
				if r.Offset >= sc.next[i] {
					got = append(got, broker.Delivered{Record: r, Count: 1})
					sc.next[i] = r.Offset + 1
				}
			}
		}
		ch.unreserve(cs, room-len(got))
		if len(got) == 0 {
			changed := make([]<-chan struct{}, len(sc.parts))
			for i, p := range sc.parts {
				changed[i] = p.Changed()
				if p.EndOffset() > sc.next[i] {
					changed = nil
					break
				}
			}
			if changed == nil {
				continue
			}
			if broker.WaitAny(cs.ctx, changed...) != nil {
				return
			}
			continue
		}
		switch cs.send(got) {
		case channelShut:
			return
		case consumerStopped:
			ch.unreserve(cs, len(got)) // so basic.cancel sees nothing pending
			return
		}
	}
}
