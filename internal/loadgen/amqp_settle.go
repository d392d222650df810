package loadgen

import (
	"context"
	"errors"
	"io"
	"sync"
)

// What the AMQP producers and consumers share, whichever client they use.

var (
	errNacked       = errors.New("broker nacked the publish")
	errChannelEnded = errors.New("channel closed before the publish was confirmed")
)

// confirmProducer publishes on one confirm-mode channel of either client:
// publish sends a persistent message, the client's confirms settle the
// ledger, and done is closed once the ledger has ended.
type confirmProducer struct {
	w       *amqpWorkload
	ledger  *confirmLedger
	publish func(ctx context.Context, exchange, key string, body []byte) error
	conn    io.Closer
	done    chan struct{}
}

func newConfirmProducer(w *amqpWorkload) *confirmProducer {
	return &confirmProducer{w: w, ledger: newConfirmLedger(), done: make(chan struct{})}
}

func (p *confirmProducer) send(ctx context.Context, queue int, payload []byte, done func(error)) error {
	exchange, key := p.w.route(queue)
	if !p.ledger.add(done) {
		return errChannelEnded // the run settles it
	}
	if err := p.publish(ctx, exchange, key, payload); err != nil && p.ledger.takeBack() {
		return err
	}
	return nil
}

func (p *confirmProducer) flush(context.Context) error { return nil }

func (p *confirmProducer) close() error {
	err := p.conn.Close()
	<-p.done
	return err
}

// confirmLedger pairs publisher confirms with the messages they settle: on
// a confirm-mode channel the n-th publish has delivery tag n. A confirm
// may name one tag or (multiple) every tag up to it, in any order.
type confirmLedger struct {
	mu      sync.Mutex
	base    uint64        // the tag of pending[0]
	pending []func(error) // by tag; nil once settled
	ended   bool          // the channel ended and failed what was pending
}

func newConfirmLedger() *confirmLedger { return &confirmLedger{base: 1} }

// add queues done for the next publish. It is called before the publish so
// that the confirm, which may come at once, finds it. It reports false once
// the channel has ended: no confirm will come, and end has settled what it
// held, so the caller settles this one itself.
func (l *confirmLedger) add(done func(error)) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return false
	}
	l.pending = append(l.pending, done)
	return true
}

// takeBack withdraws the last add after its publish failed: no confirm will
// come for it (both clients give its tag back), and the run settles a
// message whose send failed itself. It reports false when the channel has
// ended and end has already settled it, so the caller must not.
func (l *confirmLedger) takeBack() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return false
	}
	l.pending = l.pending[:len(l.pending)-1]
	return true
}

// confirm settles the messages a basic.ack (ack) or basic.nack names.
func (l *confirmLedger) confirm(tag uint64, multiple, ack bool) {
	var err error
	if !ack {
		err = errNacked
	}
	l.mu.Lock()
	var settled []func(error)
	first := tag
	if multiple {
		first = l.base
	}
	for t := max(first, l.base); t <= tag && t-l.base < uint64(len(l.pending)); t++ {
		if done := l.pending[t-l.base]; done != nil {
			settled = append(settled, done)
			l.pending[t-l.base] = nil
		}
	}
	for len(l.pending) > 0 && l.pending[0] == nil {
		l.pending = l.pending[1:]
		l.base++
	}
	l.mu.Unlock()
	for _, done := range settled {
		done(err)
	}
}

// end fails every message still unconfirmed: the channel has closed.
func (l *confirmLedger) end() {
	l.mu.Lock()
	left := l.pending
	l.pending, l.ended = nil, true
	l.mu.Unlock()
	for _, done := range left {
		if done != nil {
			done(errChannelEnded)
		}
	}
}

// ackPacer decides when a consumer sends basic.ack: one with multiple=true
// per Config.AckEvery deliveries, naming the highest tag seen, never a
// lower one after it (several queues' deliveries may arrive out of tag
// order). One goroutine uses it.
type ackPacer struct {
	every   int
	unacked int
	highest uint64
	acked   uint64
}

// delivered counts a delivery and returns the tag to ack, or 0 for none yet.
func (a *ackPacer) delivered(tag uint64) uint64 {
	a.highest = max(a.highest, tag)
	if a.unacked++; a.unacked < a.every || a.highest == a.acked {
		return 0
	}
	a.unacked, a.acked = 0, a.highest
	return a.highest
}
