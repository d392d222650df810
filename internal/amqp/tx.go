package amqp

import (
	"context"
	"errors"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
	"github.com/gannet-mq/gannet/internal/broker"
)

// txState holds what a transactional channel has published and settled
// since its last commit or rollback.
type txState struct {
	publishes []publishing
	settles   []txSettle
}

type txSettle struct {
	tag      uint64
	multiple bool
	how      int
}

func (ch *channel) onTxSelect() error {
	if ch.confirm {
		return newError(wire.ReplyPreconditionFailed, "cannot switch from confirm to tx mode")
	}
	if ch.tx == nil {
		ch.tx = &txState{}
	}
	return ch.c.send(ch.id, &wire.TxSelectOK{})
}

// onTxCommit publishes and settles what the transaction holds, and answers
// once the publishes are on disk.
func (ch *channel) onTxCommit() error {
	if ch.tx == nil {
		return newError(wire.ReplyPreconditionFailed, "channel is not transactional")
	}
	tx := ch.tx
	ch.tx = &txState{}
	var receipts []broker.Receipt
	for i := range tx.publishes {
		p := &tx.publishes[i]
		r, routed, err := ch.publishOne(p)
		if errors.Is(err, broker.ErrQueueFull) {
			// A full reject-publish queue drops the message, as RabbitMQ's
			// does in tx mode (there is no confirm to nack); the other
			// queues took it, so the commit waits for them.
			receipts = append(receipts, r)
			continue
		}
		if err != nil {
			return err
		}
		if !routed && p.mandatory {
			ch.sendReturn(p, wire.ReplyNoRoute, "NO_ROUTE")
		}
		receipts = append(receipts, r)
	}
	for _, s := range tx.settles {
		if err := ch.settleNow(s.tag, s.multiple, s.how); err != nil {
			return err
		}
	}
	for _, r := range receipts {
		if err := r.Wait(context.Background()); err != nil {
			return err
		}
	}
	return ch.c.send(ch.id, &wire.TxCommitOK{})
}

func (ch *channel) onTxRollback() error {
	if ch.tx == nil {
		return newError(wire.ReplyPreconditionFailed, "channel is not transactional")
	}
	ch.tx = &txState{}
	return ch.c.send(ch.id, &wire.TxRollbackOK{})
}
