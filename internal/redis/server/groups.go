package server

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/redis/resp"
)

type groupKey struct{ stream, group string }

// groupState is what the front-end keeps per consumer group: when each
// consumer was last seen, and the ids of delivered entries so that XACK
// finds their offsets without reading the log.
type groupState struct {
	mu        sync.Mutex
	consumers map[string]time.Time // name → last seen
	offsets   map[streamID]int64
	ids       map[int64]streamID
	handle    broker.Group
	policy    string // the retry policy applied to handle
	// lastRead is when a consumer last read (unix ns), without gs.mu:
	// publishers' pacing asks whether anyone is reading the group.
	lastRead atomic.Int64
}

const maxCachedIDs = 1 << 20

func (s *Server) groupState(stream, group string) *groupState {
	s.groupsMu.Lock()
	defer s.groupsMu.Unlock()
	k := groupKey{stream, group}
	gs := s.groups[k]
	if gs == nil {
		gs = &groupState{consumers: map[string]time.Time{}, offsets: map[streamID]int64{}, ids: map[int64]streamID{}}
		s.groups[k] = gs
	}
	return gs
}

func (s *Server) forgetGroup(stream, group string) {
	s.groupsMu.Lock()
	delete(s.groups, groupKey{stream, group})
	s.groupsMu.Unlock()
}

func (gs *groupState) remember(id streamID, off int64) {
	if len(gs.offsets) >= maxCachedIDs {
		clear(gs.offsets)
		clear(gs.ids)
	}
	gs.offsets[id] = off
	gs.ids[off] = id
}

// touch marks a consumer seen at now, the protocol clock's time.
func (gs *groupState) touch(consumer string, now time.Time) {
	gs.consumers[consumer] = now
	// Pacing measures real elapsed time (see pacing.go), so lastRead is
	// the wall clock's, whatever clock the server was given.
	gs.lastRead.Store(time.Now().UnixNano())
}

// attrRetry is the stream attribute holding a group's Gannet retry policy:
// "<max deliveries> <dead-letter stream>".
func attrRetry(group string) string { return "redis.retry." + group }

// group resolves a key and group, applying the group's retry policy.
func (c *conn) group(key, group []byte) (broker.Group, broker.Partition, *groupState, bool) {
	b := c.s.deps.Broker
	part, err := b.Partition(string(key), 0)
	if err != nil {
		return broker.Group{}, broker.Partition{}, nil, false
	}
	g, err := b.Group(string(key), string(group))
	if err != nil {
		return broker.Group{}, broker.Partition{}, nil, false
	}
	gs := c.s.groupState(string(key), string(group))
	policy := ""
	if info, err := b.Stream(string(key)); err == nil {
		policy = info.Config.Attributes[attrRetry(string(group))]
	}
	gs.mu.Lock()
	if gs.handle != g || gs.policy != policy {
		if gs.handle != g {
			clear(gs.offsets)
			clear(gs.ids)
		}
		gs.handle, gs.policy = g, policy
		limit, target := parseRetryPolicy(policy)
		g.SetDeliveryPolicy(limit, target)
	}
	gs.mu.Unlock()
	return g, part, gs, true
}

func parseRetryPolicy(p string) (int, *broker.DeadLetterTarget) {
	n, dl, _ := strings.Cut(p, " ")
	limit, _ := strconv.Atoi(n)
	if limit <= 0 {
		return 0, nil
	}
	return limit, &broker.DeadLetterTarget{RoutingKey: dl}
}

func (c *conn) noGroup(key, group []byte) {
	c.errorf("NOGROUP No such key '%s' or consumer group '%s'", key, group)
}

// noSuchGroup is the NOGROUP error of XGROUP and XINFO.
func (c *conn) noSuchGroup(key, group []byte) {
	c.errorf("NOGROUP No such consumer group '%s' for key name '%s'", group, key)
}

// consumersOf lists a group's consumers: those seen by this front-end and
// those owning entries of the group's pending list (after a restart only
// the latter).
func consumersOf(gs *groupState, groupPending []broker.Delivery) (names []string, pending map[string]int, seen map[string]time.Time) {
	pending = map[string]int{}
	seen = map[string]time.Time{}
	gs.mu.Lock()
	for n, t := range gs.consumers {
		seen[n] = t
	}
	gs.mu.Unlock()
	for _, d := range groupPending {
		pending[d.Consumer]++
		if _, ok := seen[d.Consumer]; !ok {
			seen[d.Consumer] = d.LastDelivered
		} else if d.LastDelivered.After(seen[d.Consumer]) {
			seen[d.Consumer] = d.LastDelivered
		}
	}
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, pending, seen
}

func cmdXReadGroup(c *conn, args [][]byte) {
	ra, ok := parseReadArgs(c, args, true)
	if !ok {
		return
	}
	type target struct {
		key     []byte
		g       broker.Group
		part    broker.Partition
		gs      *groupState
		newOnly bool
		after   streamID
	}
	targets := make([]target, len(ra.keys))
	for i, key := range ra.keys {
		t := &targets[i]
		t.key = key
		idArg := ra.ids[i]
		switch {
		case len(idArg) == 1 && idArg[0] == '>':
			t.newOnly = true
		case len(idArg) == 1 && idArg[0] == '$':
			c.err("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
			return
		default:
			id, _, okID := parseID(idArg, 0, false)
			if !okID {
				c.err(errInvalidID)
				return
			}
			t.after = id
		}
	}
	for i := range targets {
		t := &targets[i]
		var okG bool
		t.g, t.part, t.gs, okG = c.group(t.key, ra.group)
		if !okG {
			c.errorf("NOGROUP No such key '%s' or consumer group '%s' in XREADGROUP with GROUP option", t.key, ra.group)
			return
		}
	}
	consumer := string(ra.consumer)
	for i := range targets {
		gs := targets[i].gs
		gs.mu.Lock()
		gs.touch(consumer, c.s.now())
		gs.mu.Unlock()
	}
	max := int(ra.count)
	if max <= 0 {
		max = 100000
	}
	opts := broker.ReceiveOptions{Consumer: consumer, Max: max, Persistent: true}
	// A chunk is one stream of the reply: either deliveries, encoded
	// straight into the reply at the end, or pending history already encoded.
	type chunk struct {
		key  []byte
		t    int
		ds   []broker.Delivered
		n    int
		body []byte
	}
	var chunks []chunk
	history := false
	for i := range targets {
		t := &targets[i]
		if !t.newOnly {
			history = true
			n, body := c.pendingHistory(t.g, t.part, t.gs, consumer, t.after, ra.count)
			chunks = append(chunks, chunk{key: t.key, t: i, n: n, body: body})
			continue
		}
		ds, err := t.g.Receive(context.Background(), opts)
		if err != nil {
			c.err("ERR " + err.Error())
			return
		}
		ds, _ = dropDeleted(c.s.tombstones(string(t.key)), t.g, ds, deliveredRef)
		if len(ds) > 0 {
			chunks = append(chunks, chunk{key: t.key, t: i, ds: ds, n: len(ds)})
		}
	}
	if len(chunks) == 0 && ra.blocking && !history {
		var served bool
		c.block(ra.block, func(ctx context.Context) error {
			wake := make([]<-chan struct{}, 0, 2*len(targets))
			for {
				// The wake-up channels are taken before looking, so a
				// change between the look and the wait is not missed.
				wake = wake[:0]
				for i := range targets {
					wake = append(wake, targets[i].part.Changed(), targets[i].g.Changed())
				}
				for i := range targets {
					t := &targets[i]
					ds, err := t.g.Receive(ctx, opts)
					if err != nil {
						return err
					}
					if ds, _ = dropDeleted(c.s.tombstones(string(t.key)), t.g, ds, deliveredRef); len(ds) > 0 {
						chunks = append(chunks, chunk{key: t.key, t: i, ds: ds, n: len(ds)})
					}
				}
				if len(chunks) > 0 {
					served = true
					return nil
				}
				if err := broker.WaitAny(ctx, wake...); err != nil {
					return err
				}
			}
		})
		if c.quit {
			return
		}
		if !served {
			c.nullArray()
			return
		}
	}
	if len(chunks) == 0 {
		c.nullArray()
		return
	}
	c.streamsReplyHeader(len(chunks))
	for _, ch := range chunks {
		c.streamReply(ch.key, ch.n)
		if ch.ds == nil {
			c.out = append(c.out, ch.body...)
			continue
		}
		t := &targets[ch.t]
		c.writeDelivered(t.g, t.part, t.gs, ch.ds, ra.noAck)
	}
}

func deliveredRef(d *broker.Delivered) broker.Ref {
	return broker.Ref{Partition: d.Partition, Offset: d.Offset}
}

// writeDelivered encodes delivered records as entries and remembers their
// ids; with NOACK they are settled at once.
func (c *conn) writeDelivered(g broker.Group, part broker.Partition, gs *groupState, ds []broker.Delivered, noAck bool) {
	size := 0
	for i := range ds {
		size += 64 + len(ds[i].Value) + len(ds[i].Key)
		for _, h := range ds[i].Headers {
			size += 32 + len(h.Key) + len(h.Value)
		}
	}
	c.out = slices.Grow(c.out, size)
	res := idResolver{part: part}
	gs.mu.Lock()
	for i := range ds {
		id := res.id(&ds[i].Record)
		c.out = appendEntry(c.out, id, &ds[i].Record)
		if !noAck {
			gs.remember(id, ds[i].Offset)
		}
	}
	gs.mu.Unlock()
	if noAck {
		refs := make([]broker.Ref, len(ds))
		for i := range ds {
			refs[i] = broker.Ref{Partition: ds[i].Partition, Offset: ds[i].Offset, Count: ds[i].Count}
		}
		g.Ack(refs...)
	}
}

// pendingHistory encodes the consumer's pending entries after id (XREADGROUP
// with an explicit id). Entries whose record is gone show as [id, nil].
func (c *conn) pendingHistory(g broker.Group, part broker.Partition, gs *groupState, consumer string, after streamID, count int64) (int, []byte) {
	var body []byte
	n := 0
	tomb := c.s.tombstones(g.Stream())
	er := newEntryReader(part)
	for _, d := range g.Pending(consumer) {
		rec, id, ok := c.entryAt(er, gs, d.Offset)
		if ok && tomb.deleted(d.Offset) {
			ok = false
		}
		if !ok {
			known := false
			if id, known = c.knownID(gs, d.Offset); !known || !after.less(id) {
				continue
			}
			body = append(body, "*2\r\n"...)
			body = appendIDBulk(body, id)
			body = resp.AppendNullArray(body, c.ver)
			n++
		} else {
			if !after.less(id) {
				continue
			}
			body = appendEntry(body, id, rec)
			n++
		}
		if count > 0 && int64(n) >= count {
			break
		}
	}
	return n, body
}

func (c *conn) knownID(gs *groupState, off int64) (streamID, bool) {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	id, ok := gs.ids[off]
	return id, ok
}

func (c *conn) entryAt(er *entryReader, gs *groupState, off int64) (*broker.Record, streamID, bool) {
	rec, id, ok := er.at(off)
	if ok {
		gs.mu.Lock()
		gs.remember(id, off)
		gs.mu.Unlock()
	}
	return rec, id, ok
}

// idOf returns the id of the entry at off.
func (c *conn) idOf(er *entryReader, gs *groupState, off int64) (streamID, bool) {
	if id, ok := c.knownID(gs, off); ok {
		return id, true
	}
	_, id, ok := c.entryAt(er, gs, off)
	return id, ok
}

// offsetOf returns the offset of the entry with this id.
func (c *conn) offsetOf(part broker.Partition, gs *groupState, id streamID) (int64, bool) {
	gs.mu.Lock()
	off, ok := gs.offsets[id]
	gs.mu.Unlock()
	if ok {
		return off, true
	}
	off, ok = findOffset(part, id)
	if ok {
		gs.mu.Lock()
		gs.remember(id, off)
		gs.mu.Unlock()
	}
	return off, ok
}

func cmdXAck(c *conn, args [][]byte) {
	ids := make([]streamID, 0, len(args)-3)
	for _, a := range args[3:] {
		id, _, ok := parseID(a, 0, false)
		if !ok {
			c.err(errInvalidID)
			return
		}
		ids = append(ids, id)
	}
	g, part, gs, ok := c.group(args[1], args[2])
	if !ok {
		c.integer(0)
		return
	}
	refs := make([]broker.Ref, 0, len(ids))
	for _, id := range ids {
		if off, ok := c.offsetOf(part, gs, id); ok {
			refs = append(refs, broker.Ref{Offset: off})
		}
	}
	n, err := g.Ack(refs...)
	if err != nil {
		c.err("ERR " + err.Error())
		return
	}
	gs.mu.Lock()
	for _, r := range refs {
		if id, ok := gs.ids[r.Offset]; ok {
			delete(gs.ids, r.Offset)
			delete(gs.offsets, id)
		}
	}
	gs.mu.Unlock()
	c.syncState = true
	c.integer(int64(n))
}
