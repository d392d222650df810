package amqp

import (
	"errors"
	"strings"

	"github.com/gannet-mq/gannet/internal/amqp/wire"
	"github.com/gannet-mq/gannet/internal/broker"
)

// ownerPrefix starts every exclusive queue owner this front-end sets, so
// that a restart can remove queues whose connection is gone.
const ownerPrefix = "amqp-"

func (ch *channel) onExchangeDeclare(m *wire.ExchangeDeclare) error {
	b := ch.c.s.b
	if m.Exchange == "" {
		return newError(wire.ReplyAccessRefused, "operation not permitted on the default exchange")
	}
	if m.Passive {
		if _, err := b.Exchange(m.Exchange); err != nil {
			return notFound("exchange", m.Exchange)
		}
		return ch.replyUnlessNoWait(m.NoWait, &wire.ExchangeDeclareOK{})
	}
	if strings.HasPrefix(m.Exchange, "amq.") {
		if cur, err := b.Exchange(m.Exchange); err == nil && cur.Kind == m.Type && cur.Durable == m.Durable {
			return ch.replyUnlessNoWait(m.NoWait, &wire.ExchangeDeclareOK{})
		}
		return newError(wire.ReplyAccessRefused, "exchange name '%s' contains reserved prefix 'amq.*'", m.Exchange)
	}
	switch m.Type {
	case "direct", "fanout", "topic", "headers":
	default:
		return newError(wire.ReplyCommandInvalid, "invalid exchange type '%s'", m.Type)
	}
	cfg := broker.ExchangeConfig{Name: m.Exchange, Kind: m.Type, Durable: m.Durable,
		AutoDelete: m.AutoDelete, Internal: m.Internal}
	if alt, ok := m.Arguments["alternate-exchange"].(string); ok {
		cfg.Alternate = alt
	}
	if _, err := b.DeclareExchange(cfg); err != nil {
		if errors.Is(err, broker.ErrExists) {
			cur, _ := b.Exchange(m.Exchange)
			return inequivalentExchange(cfg, cur)
		}
		return err
	}
	return ch.replyUnlessNoWait(m.NoWait, &wire.ExchangeDeclareOK{})
}

// inequivalentExchange names the first difference in RabbitMQ's order of
// checks (rabbit_exchange:assert_equivalence): type, the flags, then the
// alternate-exchange argument, the only argument it compares.
func inequivalentExchange(want, cur broker.ExchangeConfig) error {
	quote := func(s string) string { return "'" + s + "'" }
	arg, got, have := "alternate-exchange", argText(want.Alternate), argText(cur.Alternate)
	switch {
	case cur.Kind != want.Kind:
		arg, got, have = "type", quote(want.Kind), quote(cur.Kind)
	case cur.Durable != want.Durable:
		arg, got, have = "durable", quote(boolText(want.Durable)), quote(boolText(cur.Durable))
	case cur.AutoDelete != want.AutoDelete:
		arg, got, have = "auto_delete", quote(boolText(want.AutoDelete)), quote(boolText(cur.AutoDelete))
	case cur.Internal != want.Internal:
		arg, got, have = "internal", quote(boolText(want.Internal)), quote(boolText(cur.Internal))
	}
	return newError(wire.ReplyPreconditionFailed,
		"inequivalent arg '%s' for exchange '%s' in vhost '/': received %s but current is %s", arg, want.Name, got, have)
}

// argText renders a string argument as RabbitMQ's rabbit_misc:val does:
// an absent one is "none". Only string values are kept, so the type is
// always longstr.
func argText(v string) string {
	if v == "" {
		return "none"
	}
	return "the value '" + v + "' of type 'longstr'"
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (ch *channel) onExchangeDelete(m *wire.ExchangeDelete) error {
	if m.Exchange == "" || strings.HasPrefix(m.Exchange, "amq.") {
		return newError(wire.ReplyAccessRefused, "operation not permitted on exchange '%s'", m.Exchange)
	}
	err := ch.c.s.b.DeleteExchange(m.Exchange, m.IfUnused)
	switch {
	case errors.Is(err, broker.ErrNotFound):
		// RabbitMQ answers deleting a missing exchange with delete-ok.
	case errors.Is(err, broker.ErrInUse):
		return newError(wire.ReplyPreconditionFailed, "exchange '%s' in vhost '/' in use", m.Exchange)
	case err != nil:
		return err
	}
	return ch.replyUnlessNoWait(m.NoWait, &wire.ExchangeDeleteOK{})
}

func (ch *channel) onExchangeBind(m *wire.ExchangeBind, bind bool) error {
	if m.Source == "" || m.Destination == "" {
		return newError(wire.ReplyAccessRefused, "operation not permitted on the default exchange")
	}
	cfg := broker.BindingConfig{Exchange: m.Source, Destination: m.Destination, ToExchange: true,
		Key: m.RoutingKey, Args: bindingArgs(m.Arguments)}
	if err := ch.bindOrUnbind(cfg, bind); err != nil {
		return err
	}
	if bind {
		return ch.replyUnlessNoWait(m.NoWait, &wire.ExchangeBindOK{})
	}
	return ch.replyUnlessNoWait(m.NoWait, &wire.ExchangeUnbindOK{})
}

func (ch *channel) bindOrUnbind(cfg broker.BindingConfig, bind bool) error {
	b := ch.c.s.b
	var err error
	if bind {
		err = b.Bind(cfg)
	} else {
		err = b.Unbind(cfg)
	}
	var nf *broker.NotFoundError
	if errors.As(err, &nf) {
		if nf.What == "stream" {
			return notFound("queue", nf.Name)
		}
		return notFound(nf.What, nf.Name)
	}
	return err
}

// bindingArgs renders binding arguments as the core's byte values.
func bindingArgs(t wire.Table) map[string][]byte {
	if len(t) == 0 {
		return nil
	}
	out := make(map[string][]byte, len(t))
	for k, v := range t {
		if text, _, ok := renderValue(v); ok {
			out[k] = text
		}
	}
	return out
}

// onQueueBind handles queue.bind and, with bind false, queue.unbind (which
// has no no-wait flag).
func (ch *channel) onQueueBind(m *wire.QueueBind, bind bool) error {
	if err := ch.checkQueueAccess(m.Queue); err != nil {
		return err
	}
	if m.Exchange == "" {
		return newError(wire.ReplyAccessRefused, "operation not permitted on the default exchange")
	}
	cfg := broker.BindingConfig{Exchange: m.Exchange, Destination: m.Queue, Key: m.RoutingKey, Args: bindingArgs(m.Arguments)}
	if err := ch.bindOrUnbind(cfg, bind); err != nil {
		return err
	}
	if bind {
		return ch.replyUnlessNoWait(m.NoWait, &wire.QueueBindOK{})
	}
	return ch.c.send(ch.id, &wire.QueueUnbindOK{})
}

// checkQueueAccess finds a queue and refuses another connection's
// exclusive queue.
func (ch *channel) checkQueueAccess(name string) error {
	info, err := ch.c.s.b.Stream(name)
	if err != nil {
		return notFound("queue", name)
	}
	return ch.c.checkOwner(info)
}

func (c *conn) checkOwner(info broker.StreamInfo) error {
	if info.Config.Owner != "" && info.Config.Owner != c.id {
		return lockedQueue(info.Name)
	}
	return nil
}

func (ch *channel) onQueuePurge(m *wire.QueuePurge) error {
	if err := ch.checkQueueAccess(m.Queue); err != nil {
		return err
	}
	g, err := ch.c.s.b.Queue(m.Queue)
	if err != nil {
		return newError(wire.ReplyPreconditionFailed, "queue '%s' in vhost '/' cannot be purged", m.Queue)
	}
	ch.syncPublishes()
	n, err := g.Purge()
	if err != nil {
		return err
	}
	return ch.replyUnlessNoWait(m.NoWait, &wire.QueuePurgeOK{MessageCount: clampUint32(n)})
}

func (ch *channel) onQueueDelete(m *wire.QueueDelete) error {
	b := ch.c.s.b
	info, err := b.Stream(m.Queue)
	if err != nil {
		// RabbitMQ answers deleting a missing queue with delete-ok.
		return ch.replyUnlessNoWait(m.NoWait, &wire.QueueDeleteOK{})
	}
	if err := ch.c.checkOwner(info); err != nil {
		return err
	}
	ch.syncPublishes()
	ready, consumers := ch.c.s.queueCounts(m.Queue)
	if m.IfUnused && consumers > 0 {
		return newError(wire.ReplyPreconditionFailed, "queue '%s' in vhost '/' in use", m.Queue)
	}
	if m.IfEmpty && ready > 0 {
		return newError(wire.ReplyPreconditionFailed, "queue '%s' in vhost '/' is not empty", m.Queue)
	}
	if err := b.DeleteStream(m.Queue); err != nil && !errors.Is(err, broker.ErrNotFound) {
		return err
	}
	return ch.replyUnlessNoWait(m.NoWait, &wire.QueueDeleteOK{MessageCount: ready})
}

func (ch *channel) replyUnlessNoWait(noWait bool, m wire.Method) error {
	if noWait {
		return nil
	}
	return ch.c.send(ch.id, m)
}

// queueCounts returns a queue's ready messages and consumers.
func (s *Server) queueCounts(name string) (ready, consumers uint32) {
	g, err := s.b.Queue(name)
	if err != nil {
		return 0, 0 // a stream queue: nothing is "ready" in it
	}
	return clampUint32(g.Ready()), uint32(g.ConsumerCount())
}

// addConsumer registers a consumer with its queue's group, with its
// options (x-priority) in the same step, enforcing exclusive consumers (403
// ACCESS_REFUSED). The check and the registration share the server's lock,
// so a consumer cannot join a queue between another connection's exclusive
// check and its registration.
func (s *Server) addConsumer(queue, coreID string, g broker.Group, exclusive bool, opts broker.ConsumerOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.exclusiveConsumers[queue]; taken || (exclusive && g.ConsumerCount() > 0) {
		return newError(wire.ReplyAccessRefused, "queue '%s' in vhost '/' in exclusive use", queue)
	}
	if exclusive {
		s.exclusiveConsumers[queue] = coreID
	}
	g.AddConsumerWith(coreID, opts)
	return nil
}

func (s *Server) releaseExclusiveConsumer(queue, coreID string) {
	s.mu.Lock()
	if s.exclusiveConsumers[queue] == coreID {
		delete(s.exclusiveConsumers, queue)
	}
	s.mu.Unlock()
}
