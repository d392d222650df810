package broker

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
)

// DeathEntry is one line of a message's dead-letter history, the neutral
// form of RabbitMQ's x-death: one entry per (queue, reason), newest first.
type DeathEntry struct {
	Queue       string   `json:"queue"`
	Reason      string   `json:"reason"`
	Count       int64    `json:"count"`
	Time        int64    `json:"time"` // Unix seconds of the latest death
	Exchange    string   `json:"exchange"`
	RoutingKeys []string `json:"routing-keys"`
}

// Deaths decodes a message's dead-letter history.
func (m *Message) Deaths() []DeathEntry {
	v, ok := m.HeaderValue(HeaderDeaths)
	if !ok {
		return nil
	}
	var out []DeathEntry
	if json.Unmarshal(v, &out) != nil {
		return nil
	}
	return out
}

func (g *group) deadLetterAll(work []*deadLetterWork) {
	for _, w := range work {
		g.deadLetter(w)
	}
}

// deadLetter moves one record to the group's dead-letter target and only
// then settles it, so a crash in between duplicates rather than loses it.
func (g *group) deadLetter(w *deadLetterWork) {
	gp := w.part
	if w.record == nil {
		gp.mu.Lock()
		rec, buf, ok, err := gp.p.readOne(w.offset, gp.readBuf)
		gp.readBuf = buf
		gp.mu.Unlock()
		if err != nil || !ok {
			g.finishDeadLetter(w)
			return
		}
		w.record = &rec
	}
	msg := fromRecord(gp.p.index, *w.record).Message
	if err := g.sendDeadLetter(msg, w.reason); err != nil {
		g.b.log.Warn("dead-lettering failed; the message is dropped as RabbitMQ does",
			"queue", g.stream.name, "offset", w.offset, "err", err)
	}
	g.b.observe.DeadLettered(g.stream.name, g.name, w.reason)
	g.finishDeadLetter(w)
}

// deadLetterRefused dead-letters the records a full reject-publish-dlx
// queue refused, with reason maxlen as RabbitMQ gives them. They were
// never stored, so there is nothing to settle.
func (g *group) deadLetterRefused(partition int32, recs []batch.Record) {
	for i := range recs {
		msg := fromRecord(partition, recs[i]).Message
		if err := g.sendDeadLetter(msg, ReasonMaxLength); err != nil {
			g.b.log.Warn("dead-lettering a refused message failed; it is dropped as RabbitMQ does",
				"queue", g.stream.name, "err", err)
		}
		g.b.observe.DeadLettered(g.stream.name, g.name, ReasonMaxLength)
	}
}

// sendDeadLetter publishes msg to the group's dead-letter target with the
// death added to its history, and waits until it is durable. Without a
// target, or once it has gone round a cycle, the message is dropped.
func (g *group) sendDeadLetter(msg Message, reason string) error {
	cfg := g.config()
	if cfg.DeadLetter == nil || g.isDeadLetterCycle(&msg, reason) {
		return nil
	}
	msg = msg.clone()
	routingKey := cfg.DeadLetter.RoutingKey
	origKey, _ := msg.HeaderValue(HeaderRoutingKey)
	if routingKey == "" {
		routingKey = string(origKey)
	}
	origExchange, _ := msg.HeaderValue(HeaderExchange)
	addDeath(&msg, DeathEntry{
		Queue: g.stream.name, Reason: reason, Count: 1, Time: g.b.now().Unix(),
		Exchange: string(origExchange), RoutingKeys: []string{string(origKey)},
	})
	msg.DeleteHeader(HeaderExpiresAt) // RabbitMQ drops the per-message TTL on dead-lettering
	msg.DeleteHeader(HeaderStreamEntryID)
	msg.Timestamp = time.Time{}
	receipt, err := g.b.republish(cfg.DeadLetter.Exchange, routingKey, msg)
	if err == nil {
		err = receipt.Wait(context.Background())
	}
	return err
}

// isDeadLetterCycle tells whether a message that the broker itself is
// dead-lettering has already been dead-lettered from this queue with no
// consumer rejection on the way: it has gone round a cycle and, as in
// RabbitMQ, is dropped instead of looping forever.
func (g *group) isDeadLetterCycle(msg *Message, reason string) bool {
	if reason == ReasonRejected {
		return false
	}
	cycle := false
	for _, d := range msg.Deaths() {
		if d.Reason == ReasonRejected {
			return false
		}
		if d.Queue == g.stream.name {
			cycle = true
		}
	}
	if cycle {
		g.b.log.Warn("dead-letter cycle: message dropped", "queue", g.stream.name, "reason", reason)
	}
	return cycle
}

func (g *group) finishDeadLetter(w *deadLetterWork) {
	gp := w.part
	gp.mu.Lock()
	delete(gp.limbo, w.offset)
	gp.settleLocked(w.offset)
	gp.flush()
	gp.mu.Unlock()
}

// addDeath merges one death into the history: an entry for the same queue and
// reason has its count raised and moves to the front.
func addDeath(m *Message, d DeathEntry) {
	deaths := m.Deaths()
	for i, e := range deaths {
		if e.Queue == d.Queue && e.Reason == d.Reason {
			d.Count = e.Count + 1
			d.Exchange, d.RoutingKeys = e.Exchange, e.RoutingKeys
			deaths = append(deaths[:i], deaths[i+1:]...)
			break
		}
	}
	deaths = append([]DeathEntry{d}, deaths...)
	v, _ := json.Marshal(deaths)
	m.SetHeader(HeaderDeaths, v)
}

func sortDeliveries(ds []Delivery) {
	sort.Slice(ds, func(i, j int) bool {
		if ds[i].Partition != ds[j].Partition {
			return ds[i].Partition < ds[j].Partition
		}
		return ds[i].Offset < ds[j].Offset
	})
}
