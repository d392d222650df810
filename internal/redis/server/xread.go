package server

import (
	"context"
	"errors"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/redis/resp"
)

// parseRangeID parses an XRANGE bound: "-", "+", "<ms>[-<seq>]" or, with
// "(", an exclusive one.
func parseRangeID(b []byte, isStart bool) (streamID, bool, bool) {
	exclusive := len(b) > 1 && b[0] == '('
	if exclusive {
		b = b[1:]
	}
	missing := uint64(0)
	if !isStart {
		missing = ^uint64(0)
	}
	id, _, ok := parseID(b, missing, !exclusive)
	if !ok && exclusive {
		// "(-" and "(+" are invalid in Redis too.
		return id, false, false
	}
	return id, exclusive, ok
}

// rangeStart parses the start bound of XRANGE, XPENDING or XAUTOCLAIM, an
// exclusive one made inclusive, and replies with Redis' error when it is
// invalid. Redis checks the start bound whole before it parses the end.
func (c *conn) rangeStart(b []byte) (streamID, bool) {
	id, exclusive, ok := parseRangeID(b, true)
	if !ok {
		c.err(errInvalidID)
		return id, false
	}
	if exclusive {
		if id, ok = id.incr(); !ok {
			c.err("ERR invalid start ID for the interval")
		}
	}
	return id, ok
}

// rangeEnd is rangeStart for the end bound.
func (c *conn) rangeEnd(b []byte) (streamID, bool) {
	id, exclusive, ok := parseRangeID(b, false)
	if !ok {
		c.err(errInvalidID)
		return id, false
	}
	if exclusive {
		if id, ok = id.decr(); !ok {
			c.err("ERR invalid end ID for the interval")
		}
	}
	return id, ok
}

func cmdXRange(c *conn, args [][]byte)    { c.xrange(args, false) }
func cmdXRevRange(c *conn, args [][]byte) { c.xrange(args, true) }

func (c *conn) xrange(args [][]byte, rev bool) {
	startArg, endArg := args[2], args[3]
	if rev {
		startArg, endArg = endArg, startArg
	}
	start, ok := c.rangeStart(startArg)
	if !ok {
		return
	}
	end, ok := c.rangeEnd(endArg)
	if !ok {
		return
	}
	count := int64(-1)
	for i := 4; i < len(args); i++ {
		more := len(args) - 1 - i
		if equalFold(args[i], "count") && more >= 1 {
			n, ok := resp.ParseInt(args[i+1])
			if !ok {
				c.notInteger()
				return
			}
			count = max(n, 0)
			i++
		} else {
			c.syntaxError()
			return
		}
	}
	if count == 0 {
		c.nullArray() // as Redis does for COUNT 0 or below
		return
	}
	part, exists := c.partition(args[1])
	if !exists || end.less(start) {
		c.array(0)
		return
	}
	tomb := c.s.tombstones(string(args[1]))
	if rev {
		c.writeRevRange(part, tomb, start, end, count)
	} else {
		c.writeRange(part, tomb, start, end, count)
	}
}

// writeRange replies with the entries in [start, end], at most count
// (count < 0: all), in id order.
func (c *conn) writeRange(part broker.Partition, tomb tombstones, start, end streamID, count int64) {
	var body []byte
	n := int64(0)
	scanLive(part, tomb, seek(part, start), func(rec *broker.Record, id streamID) bool {
		if end.less(id) {
			return false
		}
		if id.less(start) {
			return true
		}
		body = appendEntry(body, id, rec)
		n++
		return count < 0 || n < count
	})
	c.array(int(n))
	c.out = append(c.out, body...)
}

// writeRevRange replies newest first, reading windows backwards.
func (c *conn) writeRevRange(part broker.Partition, tomb tombstones, start, end streamID, count int64) {
	hi := part.EndOffset()
	if e, ok := end.incr(); ok {
		hi = seek(part, e)
	}
	lo := part.StartOffset()
	var body []byte
	n := int64(0)
	const window = 256
	type entry struct {
		id  streamID
		rec *broker.Record
	}
	done := false
	for hi > lo && !done {
		from := max(lo, hi-window)
		var got []entry
		scanLive(part, tomb, from, func(rec *broker.Record, id streamID) bool {
			if rec.Offset >= hi {
				return false
			}
			got = append(got, entry{id, rec})
			return true
		})
		for i := len(got) - 1; i >= 0; i-- {
			e := got[i]
			if end.less(e.id) {
				continue
			}
			if e.id.less(start) {
				done = true
				break
			}
			body = appendEntry(body, e.id, e.rec)
			n++
			if count >= 0 && n >= count {
				done = true
				break
			}
		}
		hi = from
	}
	c.array(int(n))
	c.out = append(c.out, body...)
}

// readArgs is the parsed form of XREAD and XREADGROUP.
type readArgs struct {
	count    int64 // 0: no limit
	block    time.Duration
	blocking bool
	noAck    bool
	group    []byte
	consumer []byte
	keys     [][]byte
	ids      [][]byte
}

func parseReadArgs(c *conn, args [][]byte, group bool) (ra readArgs, ok bool) {
	cmd := "XREAD"
	if group {
		cmd = "XREADGROUP"
	}
	streamsAt := 0
	for i := 1; i < len(args); i++ {
		more := len(args) - 1 - i
		o := args[i]
		switch {
		case equalFold(o, "block") && more >= 1:
			ms, okN := resp.ParseInt(args[i+1])
			if !okN {
				c.err("ERR timeout is not an integer or out of range")
				return
			}
			if ms < 0 {
				c.err("ERR timeout is negative")
				return
			}
			ra.blocking = true
			ra.block = time.Duration(ms) * time.Millisecond
			i++
		case equalFold(o, "count") && more >= 1:
			n, okN := resp.ParseInt(args[i+1])
			if !okN {
				c.notInteger()
				return
			}
			if n < 0 {
				n = 0
			}
			ra.count = n
			i++
		case equalFold(o, "streams") && more >= 1:
			streamsAt = i + 1
			i = len(args)
		case equalFold(o, "group") && more >= 2:
			if !group {
				c.err("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
				return
			}
			ra.group, ra.consumer = args[i+1], args[i+2]
			i += 2
		case equalFold(o, "noack") && group:
			ra.noAck = true
		default:
			c.syntaxError()
			return
		}
	}
	if streamsAt == 0 {
		c.syntaxError()
		return
	}
	rest := args[streamsAt:]
	if len(rest)%2 != 0 {
		c.errorf("ERR Unbalanced %s list of streams: for each stream key an ID or '$' must be specified.", cmd)
		return
	}
	if group && ra.group == nil {
		c.err("ERR Missing GROUP option for XREADGROUP")
		return
	}
	ra.keys, ra.ids = rest[:len(rest)/2], rest[len(rest)/2:]
	return ra, true
}

// readTarget is one stream of an XREAD with the id to read after.
type readTarget struct {
	key   []byte
	part  broker.Partition
	found bool
	after streamID
}

func cmdXRead(c *conn, args [][]byte) {
	ra, ok := parseReadArgs(c, args, false)
	if !ok {
		return
	}
	targets := make([]readTarget, len(ra.keys))
	for i, key := range ra.keys {
		t := &targets[i]
		t.key = key
		t.part, t.found = c.partition(key)
		idArg := ra.ids[i]
		switch {
		case len(idArg) == 1 && idArg[0] == '$':
			if t.found {
				t.after = c.s.lastID(string(key), t.part)
			}
		case len(idArg) == 1 && idArg[0] == '>':
			c.err("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
			return
		case len(idArg) == 1 && idArg[0] == '+':
			// Redis 7.4's "+": the last entry (Gannet accepts it too).
			if t.found {
				if last, ok := lastEntryID(t.part); ok {
					t.after, _ = last.decr()
				} else {
					t.after = c.s.lastID(string(key), t.part)
				}
			}
		default:
			id, _, okID := parseID(idArg, 0, false)
			if !okID {
				c.err(errInvalidID)
				return
			}
			t.after = id
		}
	}
	if c.writeReadReply(targets, ra.count) {
		return
	}
	if !ra.blocking {
		c.nullArray()
		return
	}
	var served bool
	err := c.block(ra.block, func(ctx context.Context) error {
		for {
			// The wake-up channels are taken before looking, so an XADD
			// between the look and the wait is not missed.
			wake, missing := c.readWake(targets)
			if c.writeReadReply(targets, ra.count) {
				served = true
				return nil
			}
			wctx, cancel := ctx, context.CancelFunc(func() {})
			if missing {
				// No stream tells when it is created: look again soon.
				wctx, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
			}
			broker.WaitAny(wctx, wake...)
			cancel()
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	})
	if c.quit {
		return
	}
	if !served {
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && c.ctx.Err() != nil {
			c.quit = true
			return
		}
		c.nullArray()
	}
}

// readWake returns the channels that fire when one of the streams grows,
// and whether some stream does not exist yet.
func (c *conn) readWake(targets []readTarget) (wake []<-chan struct{}, missing bool) {
	for i := range targets {
		t := &targets[i]
		if !t.found {
			t.part, t.found = c.partition(t.key)
		}
		if !t.found {
			missing = true
			continue
		}
		wake = append(wake, t.part.Changed())
	}
	return wake, missing
}

// writeReadReply answers XREAD with every stream that has entries after
// its id; it writes nothing and returns false when none has.
func (c *conn) writeReadReply(targets []readTarget, count int64) bool {
	type chunk struct {
		key  []byte
		n    int
		body []byte
	}
	var chunks []chunk
	for i := range targets {
		t := &targets[i]
		if !t.found {
			continue
		}
		next, ok := t.after.incr()
		if !ok {
			continue
		}
		var body []byte
		n := 0
		scanLive(t.part, c.s.tombstones(string(t.key)), seek(t.part, next), func(rec *broker.Record, id streamID) bool {
			if id.less(next) {
				return true
			}
			body = appendEntry(body, id, rec)
			n++
			return count <= 0 || int64(n) < count
		})
		if n > 0 {
			chunks = append(chunks, chunk{t.key, n, body})
		}
	}
	if len(chunks) == 0 {
		return false
	}
	c.streamsReplyHeader(len(chunks))
	for _, ch := range chunks {
		c.streamReply(ch.key, ch.n)
		c.out = append(c.out, ch.body...)
	}
	return true
}

// streamsReplyHeader starts the reply of XREAD and XREADGROUP: an array of
// [key, entries] pairs in RESP2, a map of key to entries in RESP3.
func (c *conn) streamsReplyHeader(n int) {
	if c.ver >= 3 {
		c.mapHeader(n)
	} else {
		c.array(n)
	}
}

func (c *conn) streamReply(key []byte, entries int) {
	if c.ver < 3 {
		c.array(2)
	}
	c.bulk(key)
	c.array(entries)
}
