package server

import (
	"context"
	"errors"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/redis/resp"
)

// trimSpec is the MAXLEN/MINID part of XADD and XTRIM.
type trimSpec struct {
	strategy   int // 0 none, trimMaxLen, trimMinID
	approx     bool
	maxLen     int64
	minID      streamID
	limit      int64
	limitGiven bool
}

const (
	trimMaxLen = 1
	trimMinID  = 2
)

// addSpec is the id argument of XADD.
type addSpec struct {
	auto    bool // "*"
	autoSeq bool // "<ms>-*"
	id      streamID
}

// pendingAdd is one XADD waiting to be appended with the rest of its run.
type pendingAdd struct {
	key        string
	spec       addSpec
	trim       trimSpec
	noMkStream bool
	fields     []broker.Header

	// results
	done bool
	id   streamID
	null bool
	err  string
}

// parseTrimArgs parses XADD and XTRIM options as Redis'
// streamParseAddOrTrimArgsOrReply does; for XADD it stops at the id and
// returns its position.
func parseTrimArgs(c *conn, args [][]byte, xadd bool) (t trimSpec, spec addSpec, noMk bool, idPos int, ok bool) {
	i := 2
	for ; i < len(args); i++ {
		more := len(args) - 1 - i
		opt := args[i]
		switch {
		case xadd && len(opt) == 1 && opt[0] == '*':
			spec.auto = true
			idPos = i
			goto done
		case equalFold(opt, "maxlen") && more >= 1:
			t.approx = false
			next := args[i+1]
			if more >= 2 && len(next) == 1 && (next[0] == '~' || next[0] == '=') {
				t.approx = next[0] == '~'
				i++
			}
			n, okN := resp.ParseInt(args[i+1])
			if !okN {
				c.notInteger()
				return
			}
			if n < 0 {
				c.err("ERR The MAXLEN argument must be >= 0.")
				return
			}
			t.maxLen = n
			t.strategy = trimMaxLen
			i++
		case equalFold(opt, "minid") && more >= 1:
			t.approx = false
			next := args[i+1]
			if more >= 2 && len(next) == 1 && (next[0] == '~' || next[0] == '=') {
				t.approx = next[0] == '~'
				i++
			}
			id, _, okID := parseID(args[i+1], 0, false)
			if !okID {
				c.err(errInvalidID)
				return
			}
			t.minID = id
			t.strategy = trimMinID
			i++
		case xadd && equalFold(opt, "nomkstream"):
			noMk = true
		case equalFold(opt, "limit") && more >= 1:
			n, okN := resp.ParseInt(args[i+1])
			if !okN {
				c.notInteger()
				return
			}
			if n < 0 {
				c.err("ERR The LIMIT argument must be >= 0.")
				return
			}
			t.limit, t.limitGiven = n, true
			i++
		case xadd:
			s, okID := parseAddID(opt)
			if !okID {
				c.err(errInvalidID)
				return
			}
			spec = s
			idPos = i
			goto done
		default:
			c.syntaxError()
			return
		}
	}
done:
	if t.limitGiven && t.strategy == 0 {
		c.err("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
		return
	}
	if t.limitGiven && !t.approx {
		c.err("ERR syntax error, LIMIT cannot be used without the special ~ option")
		return
	}
	if xadd && idPos == 0 {
		idPos = i
	}
	return t, spec, noMk, idPos, true
}

func parseAddID(b []byte) (addSpec, bool) {
	if len(b) >= 2 && b[len(b)-1] == '*' && b[len(b)-2] == '-' {
		ms, ok := parseUint(b[:len(b)-2])
		return addSpec{autoSeq: true, id: streamID{ms: ms}}, ok
	}
	if len(b) == 1 && (b[0] == '-' || b[0] == '+') {
		return addSpec{}, false
	}
	id, _, ok := parseID(b, 0, false)
	return addSpec{id: id}, ok
}

const errInvalidID = "ERR Invalid stream ID specified as stream command argument"

func cmdXAdd(c *conn, args [][]byte) {
	t, spec, noMk, idPos, ok := parseTrimArgs(c, args, true)
	if !ok {
		return
	}
	nFields := len(args) - idPos - 1
	if nFields < 2 || nFields%2 == 1 {
		c.err("ERR wrong number of arguments for 'xadd' command")
		return
	}
	if !spec.auto && !spec.autoSeq && spec.id.isZero() {
		c.err("ERR The ID specified in XADD must be greater than 0-0")
		return
	}
	size := 0
	for _, a := range args[idPos+1:] {
		size += len(a)
	}
	if size > c.s.deps.MaxMessageBytes {
		c.errorf("ERR entry of %d bytes is larger than the maximum message size of %d bytes", size, c.s.deps.MaxMessageBytes)
		return
	}
	// The arguments alias the read buffer: copy them into the arena, which
	// lives until the run is appended.
	a := pendingAdd{key: c.interned.String(args[1]), spec: spec, trim: t, noMkStream: noMk}
	// Headers and values live in per-connection buffers reused once the
	// run is appended (storage copies what it appends). A buffer that
	// must grow is replaced, never moved, so earlier slices stay valid.
	need := nFields/2 + 1
	if cap(c.hdrs)-len(c.hdrs) < need {
		c.hdrs = make([]broker.Header, 0, max(need, 2*cap(c.hdrs), 512))
	}
	base := len(c.hdrs)
	for i := idPos + 1; i < len(args); i += 2 {
		v := args[i+1]
		if cap(c.arena)-len(c.arena) < len(v)+32 {
			c.arena = make([]byte, 0, max(len(v)+32, 2*cap(c.arena), 256<<10))
		}
		start := len(c.arena)
		c.arena = append(c.arena, v...)
		c.hdrs = append(c.hdrs, broker.Header{Key: c.interned.String(args[i]), Value: c.arena[start:len(c.arena):len(c.arena)]})
	}
	c.hdrs = append(c.hdrs, broker.Header{Key: entryIDHeader})
	a.fields = c.hdrs[base:len(c.hdrs):len(c.hdrs)]
	c.adds = append(c.adds, a)
	if len(c.adds) >= 4096 || len(c.arena) >= 8<<20 {
		c.appendAdds()
	}
}

// appendAdds appends the current run of XADDs, one batch per stream, and
// encodes their replies in order. Ids are given under the stream's lock
// together with the append, so ids grow with offsets.
func (c *conn) appendAdds() {
	adds := c.adds
	for i := range adds {
		if adds[i].done {
			continue
		}
		var batch []*pendingAdd
		for j := i; j < len(adds); j++ {
			if !adds[j].done && adds[j].key == adds[i].key {
				batch = append(batch, &adds[j])
			}
		}
		c.appendBatch(adds[i].key, batch)
	}
	c.paceAdds(adds)
	for i := range adds {
		a := &adds[i]
		switch {
		case a.err != "":
			c.err(a.err)
		case a.null:
			c.null()
		default:
			c.entryID(a.id)
		}
	}
	clear(c.adds)
	c.adds = c.adds[:0]
	clear(c.hdrs)
	c.hdrs = c.hdrs[:0]
	if cap(c.arena) > 16<<20 {
		c.arena = nil
	}
	c.arena = c.arena[:0]
}

func (c *conn) appendBatch(name string, batch []*pendingAdd) {
	b := c.s.deps.Broker
	for _, a := range batch {
		a.done = true
	}
	part, exists := c.partition([]byte(name))
	if !exists {
		// The first XADD without NOMKSTREAM creates the stream; those
		// before it see no stream.
		for len(batch) > 0 && batch[0].noMkStream {
			batch[0].null = true
			batch = batch[1:]
		}
		if len(batch) == 0 {
			return
		}
		if err := c.s.declare(name); err != nil {
			for _, a := range batch {
				a.err = "ERR " + err.Error()
			}
			return
		}
		var ok bool
		if part, ok = c.partition([]byte(name)); !ok {
			for _, a := range batch {
				a.err = "ERR stream vanished while being created"
			}
			return
		}
	}
	st := c.s.streamState(name)
	st.mu.Lock()
	st.refreshLocked(b, name, part)
	last := st.last
	msgs := make([]broker.Message, 0, len(batch))
	placed := make([]*pendingAdd, 0, len(batch))
	nowMs := uint64(c.s.now().UnixMilli())
	for _, a := range batch {
		id, ok := nextID(last, a.spec, nowMs)
		if !ok {
			a.err = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
			continue
		}
		a.id, last = id, id
		start := len(c.arena)
		c.arena = id.appendTo(c.arena)
		a.fields[len(a.fields)-1].Value = c.arena[start:len(c.arena):len(c.arena)]
		msg := broker.Message{Headers: a.fields}
		if id.ms > 0 && id.ms < 1<<62 {
			msg.Timestamp = time.UnixMilli(int64(id.ms))
		}
		msgs = append(msgs, msg)
		placed = append(placed, a)
	}
	if len(msgs) == 0 {
		st.mu.Unlock()
		return
	}
	receipt, err := b.Append(name, 0, msgs, broker.PublishOptions{})
	if err != nil {
		st.mu.Unlock()
		text := "ERR " + err.Error()
		if errors.Is(err, broker.ErrMessageTooLarge) {
			text = "ERR entry larger than the maximum message size"
		}
		for _, a := range placed {
			a.err = text
		}
		return
	}
	st.last = last
	st.end = max(st.end, receipt.Base+int64(len(msgs)))
	st.mu.Unlock()
	c.latest[name] = receipt
	c.receipts = append(c.receipts, receipt)
	for _, a := range placed {
		if a.trim.strategy != 0 {
			// Trimming sees only durable records: wait for this batch.
			if err := receipt.Wait(context.Background()); err != nil {
				a.err = "ERR " + err.Error()
				continue
			}
			trim(part, a.trim)
		}
	}
}

// nextID gives the id of a new entry after last, as Redis' streamAppendItem.
func nextID(last streamID, spec addSpec, nowMs uint64) (streamID, bool) {
	switch {
	case spec.auto:
		if nowMs > last.ms {
			return streamID{nowMs, 0}, true
		}
		return last.incr()
	case spec.autoSeq:
		if spec.id.ms == last.ms {
			if last.seq == ^uint64(0) {
				return streamID{}, false
			}
			return streamID{last.ms, last.seq + 1}, true
		}
		id := streamID{spec.id.ms, 0}
		return id, last.less(id)
	default:
		return spec.id, last.less(spec.id)
	}
}

// trim applies MAXLEN or MINID and returns how many entries went. Gannet
// trims exactly also with "~" (Redis may keep more; both honour "at least
// this many are kept"); LIMIT caps how many entries one call removes.
func trim(part broker.Partition, t trimSpec) int64 {
	start, end := part.StartOffset(), part.EndOffset()
	newStart := start
	switch t.strategy {
	case trimMaxLen:
		if end-start > t.maxLen {
			newStart = end - t.maxLen
		}
	case trimMinID:
		newStart = seek(part, t.minID)
	}
	if t.limitGiven && t.limit > 0 && newStart-start > t.limit {
		newStart = start + t.limit
	}
	if newStart <= start {
		return 0
	}
	if err := part.SetStartOffset(newStart); err != nil {
		return 0
	}
	return newStart - start
}

func cmdXLen(c *conn, args [][]byte) {
	part, ok := c.partition(args[1])
	if !ok {
		c.integer(0)
		return
	}
	start, end := part.StartOffset(), part.EndOffset()
	c.integer(end - start - c.s.tombstones(string(args[1])).count(start, end))
}

func cmdXTrim(c *conn, args [][]byte) {
	t, _, _, _, ok := parseTrimArgs(c, args, false)
	if !ok {
		return
	}
	if t.strategy == 0 {
		c.err("ERR syntax error, XTRIM must be called with a trimming strategy")
		return
	}
	part, exists := c.partition(args[1])
	if !exists {
		c.integer(0)
		return
	}
	c.integer(trim(part, t))
}

func cmdXSetID(c *conn, args [][]byte) {
	id, _, ok := parseID(args[2], 0, false)
	if !ok {
		c.err(errInvalidID)
		return
	}
	for i := 3; i < len(args); i++ {
		more := len(args) - 1 - i
		switch {
		case equalFold(args[i], "entriesadded") && more >= 1:
			n, okN := resp.ParseInt(args[i+1])
			if !okN {
				c.notInteger()
				return
			}
			if n < 0 {
				c.err("ERR entries_added must be positive")
				return
			}
			i++
		case equalFold(args[i], "maxdeletedid") && more >= 1:
			mid, _, okID := parseID(args[i+1], 0, false)
			if !okID {
				c.err(errInvalidID)
				return
			}
			if id.less(mid) {
				c.err("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
				return
			}
			i++
		default:
			c.syntaxError()
			return
		}
	}
	name := string(args[1])
	part, exists := c.partition(args[1])
	if !exists {
		c.err("ERR no such key")
		return
	}
	st := c.s.streamState(name)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.refreshLocked(c.s.deps.Broker, name, part)
	if last, ok := lastEntryID(part); ok && id.less(last) {
		c.err("ERR The ID specified in XSETID is smaller than the target stream top item")
		return
	}
	_, err := c.s.deps.Broker.UpdateStream(name, func(cfg *broker.StreamConfig) error {
		cfg.Attributes[attrLastID] = id.String()
		return nil
	})
	if err != nil {
		c.err("ERR " + err.Error())
		return
	}
	st.last = id
	c.ok()
}

// cmdXDel deletes entries: the log is append-only, so a deleted entry is
// recorded in the stream's tombstone group and skipped by every read.
func cmdXDel(c *conn, args [][]byte) {
	ids := make([]streamID, 0, len(args)-2)
	for _, a := range args[2:] {
		id, _, ok := parseID(a, 0, false)
		if !ok {
			c.err(errInvalidID)
			return
		}
		ids = append(ids, id)
	}
	name := string(args[1])
	part, exists := c.partition(args[1])
	if !exists {
		c.integer(0)
		return
	}
	var offsets []int64
	for _, id := range ids {
		if off, ok := findOffset(part, id); ok {
			offsets = append(offsets, off)
		}
	}
	if len(offsets) == 0 {
		c.integer(0)
		return
	}
	tomb := c.s.tombstones(name)
	if !tomb.ok {
		g, err := c.s.deps.Broker.CreateGroup(name, deletedGroup, broker.GroupConfig{}, broker.StartAtBegin)
		if err != nil && !errors.Is(err, broker.ErrExists) {
			c.err("ERR " + err.Error())
			return
		}
		if err != nil {
			tomb = c.s.tombstones(name)
		} else {
			tomb = tombstones{g, true}
		}
	}
	n, err := tomb.g.SettleOffsets(0, offsets...)
	if err != nil {
		c.err("ERR " + err.Error())
		return
	}
	c.syncState = true
	c.integer(int64(n))
}
