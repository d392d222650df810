package server

import (
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/redis/resp"
)

func cmdXPending(c *conn, args [][]byte) {
	key, group := args[1], args[2]
	if len(args) != 3 && len(args) < 6 {
		c.syntaxError()
		return
	}
	var minIdle time.Duration
	var start, end streamID
	count := int64(-1)
	consumer := ""
	extended := len(args) >= 6
	if extended {
		i := 3
		if equalFold(args[i], "idle") {
			ms, ok := resp.ParseInt(args[i+1])
			if !ok {
				c.notInteger()
				return
			}
			minIdle = time.Duration(ms) * time.Millisecond
			i += 2
			if len(args) < i+3 {
				c.syntaxError()
				return
			}
		}
		var ok bool
		if start, ok = c.rangeStart(args[i]); !ok {
			return
		}
		if end, ok = c.rangeEnd(args[i+1]); !ok {
			return
		}
		n, okN := resp.ParseInt(args[i+2])
		if !okN {
			c.notInteger()
			return
		}
		if n < 0 {
			n = 0
		}
		count = n
		i += 3
		if i < len(args) {
			consumer = string(args[i])
			i++
		}
		if i < len(args) {
			c.syntaxError()
			return
		}
	}
	g, part, gs, ok := c.group(key, group)
	if !ok {
		c.noGroup(key, group)
		return
	}
	pending := g.Pending(consumer)
	er := newEntryReader(part)
	if !extended {
		c.pendingSummary(er, gs, pending)
		return
	}
	// Ids are resolved only until count rows are found: a recovery loop
	// asking for a few entries of a long pending list reads no more.
	now := c.s.now()
	var body []byte
	n := 0
	for _, d := range pending {
		if int64(n) >= count {
			break
		}
		idle := now.Sub(d.LastDelivered)
		if minIdle > 0 && idle < minIdle {
			continue
		}
		id, ok := c.idOf(er, gs, d.Offset)
		if !ok || id.less(start) || end.less(id) {
			continue // trimmed away and never seen (no id to show), or out of range
		}
		body = append(body, "*4\r\n"...)
		body = appendIDBulk(body, id)
		body = resp.AppendBulkString(body, d.Consumer)
		body = resp.AppendInt(body, idle.Milliseconds())
		body = resp.AppendInt(body, int64(d.Count))
		n++
	}
	c.array(n)
	c.out = append(c.out, body...)
}

// pendingSummary is the reply of XPENDING without a range: how many entries
// are pending, the first and last id, and how many each consumer holds.
// Entries trimmed away and never seen have no id to show and are left out.
func (c *conn) pendingSummary(er *entryReader, gs *groupState, pending []broker.Delivery) {
	var first, last streamID
	total := 0
	per := map[string]int{}
	for _, d := range pending {
		id, ok := c.idOf(er, gs, d.Offset)
		if !ok {
			continue
		}
		if total == 0 {
			first = id
		}
		last = id
		total++
		per[d.Consumer]++
	}
	c.array(4)
	if total == 0 {
		c.integer(0)
		c.null()
		c.null()
		c.nullArray()
		return
	}
	c.integer(int64(total))
	c.entryID(first)
	c.entryID(last)
	names := slices.Sorted(maps.Keys(per))
	c.array(len(names))
	for _, n := range names {
		c.array(2)
		c.bulkString(n)
		c.bulkString(strconv.Itoa(per[n]))
	}
}

// minIdle parses the min-idle-time of XCLAIM and XAUTOCLAIM (below 0 is 0).
func (c *conn) minIdle(b []byte, cmd string) (time.Duration, bool) {
	ms, ok := resp.ParseInt(b)
	if !ok {
		c.errorf("ERR Invalid min-idle-time argument for %s", cmd)
		return 0, false
	}
	return time.Duration(max(ms, 0)) * time.Millisecond, true
}

func cmdXClaim(c *conn, args [][]byte) {
	key, group, consumer := args[1], args[2], string(args[3])
	minIdle, ok := c.minIdle(args[4], "XCLAIM")
	if !ok {
		return
	}
	var ids []streamID
	j := 5
	for ; j < len(args); j++ {
		id, _, ok := parseID(args[j], 0, false)
		if !ok {
			break
		}
		ids = append(ids, id)
	}
	opts := broker.ClaimOptions{Consumer: consumer, MinIdle: minIdle, RetryCount: -1}
	justID := false
	var lastID streamID
	hasLastID := false
	now := c.s.now()
	for ; j < len(args); j++ {
		more := len(args) - 1 - j
		o := args[j]
		switch {
		case equalFold(o, "force"):
			opts.Force = true
		case equalFold(o, "justid"):
			justID = true
		case equalFold(o, "idle") && more >= 1:
			ms, ok := resp.ParseInt(args[j+1])
			if !ok {
				c.err("ERR Invalid IDLE option argument for XCLAIM")
				return
			}
			opts.DeliveredAt = now.Add(-time.Duration(ms) * time.Millisecond)
			j++
		case equalFold(o, "time") && more >= 1:
			ms, ok := resp.ParseInt(args[j+1])
			if !ok {
				c.err("ERR Invalid TIME option argument for XCLAIM")
				return
			}
			opts.DeliveredAt = time.UnixMilli(ms)
			j++
		case equalFold(o, "retrycount") && more >= 1:
			n, ok := resp.ParseInt(args[j+1])
			if !ok {
				c.err("ERR Invalid RETRYCOUNT option argument for XCLAIM")
				return
			}
			opts.RetryCount = int(n)
			j++
		case equalFold(o, "lastid") && more >= 1:
			id, _, ok := parseID(args[j+1], 0, false)
			if !ok {
				c.err(errInvalidID)
				return
			}
			lastID, hasLastID = id, true
			j++
		default:
			c.errorf("ERR Unrecognized XCLAIM option '%s'", o)
			return
		}
	}
	if !opts.DeliveredAt.IsZero() && opts.DeliveredAt.After(now) {
		opts.DeliveredAt = now
	}
	opts.KeepCount = justID
	g, part, gs, ok := c.group(key, group)
	if !ok {
		c.noGroup(key, group)
		return
	}
	if hasLastID {
		// LASTID moves the group's last delivered id forward, as Redis
		// does (used when replicating XCLAIM): entries up to it count as read.
		if next, ok := lastID.incr(); ok {
			if off := seek(part, next); off > g.Next(0) {
				g.MoveNext(0, off)
			}
		}
	}
	refs := make([]broker.Ref, 0, len(ids))
	for _, id := range ids {
		if off, ok := c.offsetOf(part, gs, id); ok {
			refs = append(refs, broker.Ref{Offset: off})
		}
	}
	res, err := g.Claim(refs, opts)
	if err != nil {
		c.err("ERR " + err.Error())
		return
	}
	res.Claimed, _ = dropDeleted(c.s.tombstones(string(key)), g, res.Claimed, deliveryRef)
	gs.mu.Lock()
	gs.touch(consumer, c.s.now())
	gs.mu.Unlock()
	c.syncState = true
	n, body := c.claimedReply(newEntryReader(part), gs, res.Claimed, justID)
	c.array(n)
	c.out = append(c.out, body...)
}

func deliveryRef(d *broker.Delivery) broker.Ref {
	return broker.Ref{Partition: d.Partition, Offset: d.Offset}
}

// claimedReply encodes claimed entries (or their ids, for JUSTID) and
// returns how many it encoded.
func (c *conn) claimedReply(er *entryReader, gs *groupState, claimed []broker.Delivery, justID bool) (int, []byte) {
	var body []byte
	n := 0
	for _, d := range claimed {
		if justID {
			id, ok := c.idOf(er, gs, d.Offset)
			if !ok {
				continue
			}
			body = appendIDBulk(body, id)
		} else {
			rec, id, ok := c.entryAt(er, gs, d.Offset)
			if !ok {
				continue
			}
			body = appendEntry(body, id, rec)
		}
		n++
	}
	return n, body
}

func cmdXAutoClaim(c *conn, args [][]byte) {
	key, group, consumer := args[1], args[2], string(args[3])
	minIdle, ok := c.minIdle(args[4], "XAUTOCLAIM")
	if !ok {
		return
	}
	start, ok := c.rangeStart(args[5])
	if !ok {
		return
	}
	count := int64(100)
	justID := false
	for j := 6; j < len(args); j++ {
		more := len(args) - 1 - j
		switch {
		case equalFold(args[j], "count") && more >= 1:
			n, ok := resp.ParseInt(args[j+1])
			if !ok || n < 1 || n > (1<<63-1)/(10*16) {
				c.err("ERR COUNT must be > 0")
				return
			}
			count = n
			j++
		case equalFold(args[j], "justid"):
			justID = true
		default:
			c.syntaxError()
			return
		}
	}
	g, part, gs, ok := c.group(key, group)
	if !ok {
		c.noGroup(key, group)
		return
	}
	opts := broker.ClaimOptions{Consumer: consumer, MinIdle: minIdle, RetryCount: -1, KeepCount: justID}
	from := seek(part, start)
	if from <= part.StartOffset() {
		// Pending entries trimmed away lie below the log start; their ids
		// precede every retained one, so a scan from the first retained
		// entry or earlier includes them.
		from = 0
	}
	res, next, err := g.AutoClaim(0, from, int(count), opts)
	if err != nil {
		c.err("ERR " + err.Error())
		return
	}
	var deleted []broker.Ref
	res.Claimed, deleted = dropDeleted(c.s.tombstones(string(key)), g, res.Claimed, deliveryRef)
	res.Gone = append(res.Gone, deleted...)
	gs.mu.Lock()
	gs.touch(consumer, c.s.now())
	gs.mu.Unlock()
	c.syncState = true
	// The claimed entries lie below next: read them first, in offset order.
	er := newEntryReader(part)
	n, body := c.claimedReply(er, gs, res.Claimed, justID)
	nextID := streamID{}
	if next >= 0 {
		if id, ok := c.idOf(er, gs, next); ok {
			nextID = id
		}
	}
	c.array(3)
	c.entryID(nextID)
	c.array(n)
	c.out = append(c.out, body...)
	var gone []streamID
	for _, r := range res.Gone {
		if id, ok := c.idOf(er, gs, r.Offset); ok {
			gone = append(gone, id)
		}
	}
	c.array(len(gone))
	for _, id := range gone {
		c.entryID(id)
	}
}
