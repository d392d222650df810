package amqp

import (
	"time"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
)

// DefaultConsumerTimeout is RabbitMQ's consumer_timeout: a delivery left
// unacknowledged this long closes its channel, so a stuck consumer cannot
// hold messages forever.
const DefaultConsumerTimeout = 30 * time.Minute

// timeoutCheckEvery is how often the reader looks for timed-out deliveries.
const timeoutCheckEvery = time.Second

// checkConsumerTimeouts closes, with 406 as RabbitMQ does, every channel
// holding a delivery older than the consumer timeout. The reader runs it
// between frames, so a client that sends nothing at all (no heartbeats
// either) is checked when it next speaks.
func (c *conn) checkConsumerTimeouts(now time.Time) {
	timeout := c.s.cfg.ConsumerTimeout
	if timeout <= 0 || now.Sub(c.lastTimeoutCheck) < timeoutCheckEvery {
		return
	}
	c.lastTimeoutCheck = now
	limit := now.Add(-timeout).UnixNano()
	for _, ch := range c.channels {
		if ch.closing || !ch.hasDeliveryOlderThan(limit) {
			continue
		}
		ch.closeWithError(newError(wire.ReplyPreconditionFailed,
			"delivery acknowledgement on channel %d timed out. Timeout value used: %d ms. "+
				"This timeout value can be configured, see consumers doc guide to learn more",
			ch.id, timeout.Milliseconds()))
	}
}

func (ch *channel) hasDeliveryOlderThan(limit int64) bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	for _, u := range ch.unacked {
		if u.at < limit {
			return true
		}
	}
	return false
}
