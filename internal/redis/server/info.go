package server

import (
	"strconv"
	"strings"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/redis/resp"
)

func cmdXInfo(c *conn, args [][]byte) {
	sub := strings.ToLower(string(args[1]))
	switch sub {
	case "help":
		c.help("XINFO", "CONSUMERS <key> <groupname>", "GROUPS <key>", "STREAM <key> [FULL [COUNT <count>]]")
		return
	case "stream":
		if len(args) < 3 {
			c.subArity(args)
			return
		}
	case "groups":
		if len(args) != 3 {
			c.subArity(args)
			return
		}
	case "consumers":
		if len(args) != 4 {
			c.subArity(args)
			return
		}
	default:
		c.unknownSubcommand(args)
		return
	}
	key := args[2]
	part, ok := c.partition(key)
	if !ok {
		c.err("ERR no such key")
		return
	}
	switch sub {
	case "consumers":
		g, _, gs, ok := c.group(key, args[3])
		if !ok {
			c.noSuchGroup(key, args[3])
			return
		}
		names, pending, seen := consumersOf(gs, g.Pending(""))
		now := c.s.now()
		c.array(len(names))
		for _, n := range names {
			c.mapHeader(3)
			c.bulkString("name")
			c.bulkString(n)
			c.bulkString("pending")
			c.integer(int64(pending[n]))
			c.bulkString("idle")
			c.integer(now.Sub(seen[n]).Milliseconds())
		}
	case "groups":
		named := c.redisGroups(key)
		c.array(len(named))
		for _, g := range named {
			c.groupInfo(key, part, g, false, 0)
		}
	case "stream":
		full := false
		count := int64(10)
		for i := 3; i < len(args); i++ {
			switch {
			case equalFold(args[i], "full"):
				full = true
			case full && equalFold(args[i], "count") && i+1 < len(args):
				n, ok := resp.ParseInt(args[i+1])
				if !ok {
					c.notInteger()
					return
				}
				if n < 0 {
					n = 10
				}
				count = n
				i++
			default:
				c.syntaxError()
				return
			}
		}
		c.streamInfo(key, part, full, count)
	}
}

func (c *conn) streamInfo(key []byte, part broker.Partition, full bool, count int64) {
	last := c.s.lastID(string(key), part)
	start, end := part.StartOffset(), part.EndOffset()
	tomb := c.s.tombstones(string(key))
	var first, lastEntry streamID
	var firstRec, lastRec *broker.Record
	scanLive(part, tomb, start, func(rec *broker.Record, id streamID) bool {
		r := *rec
		firstRec, first = &r, id
		return false
	})
	er := newEntryReader(part)
	for off := end - 1; off >= start && lastRec == nil; off-- {
		if !tomb.deleted(off) {
			if rec, id, ok := er.at(off); ok {
				lastRec, lastEntry = rec, id
			}
		}
	}
	named := c.redisGroups(key)
	if full {
		c.mapHeader(9)
	} else {
		c.mapHeader(10)
	}
	c.bulkString("length")
	c.integer(end - start - tomb.count(start, end))
	c.bulkString("radix-tree-keys")
	c.integer((end - start + 99) / 100)
	c.bulkString("radix-tree-nodes")
	c.integer((end-start+99)/100 + 1)
	c.bulkString("last-generated-id")
	c.entryID(last)
	c.bulkString("max-deleted-entry-id")
	c.entryID(streamID{})
	c.bulkString("entries-added")
	c.integer(end)
	c.bulkString("recorded-first-entry-id")
	c.entryID(first)
	if full {
		c.bulkString("entries")
		c.writeRange(part, tomb, minID, maxID, count)
		c.bulkString("groups")
		c.array(len(named))
		for _, g := range named {
			c.groupInfo(key, part, g, true, count)
		}
		return
	}
	c.bulkString("groups")
	c.integer(int64(len(named)))
	c.bulkString("first-entry")
	if firstRec != nil {
		c.out = appendEntry(c.out, first, firstRec)
	} else {
		c.null()
	}
	c.bulkString("last-entry")
	if lastRec != nil {
		c.out = appendEntry(c.out, lastEntry, lastRec)
	} else {
		c.null()
	}
}

// redisGroups lists the named groups of a stream, not the queue's own
// group nor the XDEL tombstones.
func (c *conn) redisGroups(key []byte) []broker.Group {
	groups, _ := c.s.deps.Broker.Groups(string(key))
	var named []broker.Group
	for _, g := range groups {
		if g.Name() != "" && g.Name() != deletedGroup {
			named = append(named, g)
		}
	}
	return named
}

// groupInfo is one group of XINFO GROUPS (or of XINFO STREAM FULL), with
// Gannet's retry policy as two extra fields.
func (c *conn) groupInfo(key []byte, part broker.Partition, g broker.Group, full bool, count int64) {
	_, _, gs, ok := c.group(key, []byte(g.Name()))
	if !ok {
		c.nullArray()
		return
	}
	next := g.Next(0)
	er := newEntryReader(part)
	lastDelivered := streamID{}
	if next > part.StartOffset() {
		if id, ok := c.idOf(er, gs, next-1); ok {
			lastDelivered = id
		}
	}
	pending := g.Pending("")
	names, perConsumer, seen := consumersOf(gs, pending)
	cfg := g.Config()
	dl := ""
	if cfg.DeadLetter != nil {
		dl = cfg.DeadLetter.RoutingKey
	}
	if full {
		c.mapHeader(9)
	} else {
		c.mapHeader(8)
	}
	c.bulkString("name")
	c.bulkString(g.Name())
	if !full {
		c.bulkString("consumers")
		c.integer(int64(len(names)))
		c.bulkString("pending")
		c.integer(int64(len(pending)))
	}
	c.bulkString("last-delivered-id")
	c.entryID(lastDelivered)
	c.bulkString("entries-read")
	c.integer(next)
	c.bulkString("lag")
	c.integer(max(0, part.EndOffset()-next))
	if full {
		c.bulkString("pel-count")
		c.integer(int64(len(pending)))
		c.bulkString("pending")
		n, body := c.pendingRows(er, gs, pending, "", false, count)
		c.array(n)
		c.out = append(c.out, body...)
		c.bulkString("consumers")
		c.array(len(names))
		for _, name := range names {
			c.mapHeader(4)
			c.bulkString("name")
			c.bulkString(name)
			c.bulkString("seen-time")
			c.integer(seen[name].UnixMilli())
			c.bulkString("pel-count")
			c.integer(int64(perConsumer[name]))
			c.bulkString("pending")
			n, body := c.pendingRows(er, gs, pending, name, true, count)
			c.array(n)
			c.out = append(c.out, body...)
		}
	}
	c.bulkString("gannet-max-deliveries")
	c.integer(int64(cfg.DeliveryLimit))
	c.bulkString("gannet-dead-letter-stream")
	c.bulkString(dl)
}

// pendingRows encodes pending entries for XINFO STREAM FULL, at most count
// (0: all): [id, consumer, delivery time, count] for the group's list, or,
// with justOne, [id, delivery time, count] for consumer's.
func (c *conn) pendingRows(er *entryReader, gs *groupState, pending []broker.Delivery, consumer string, justOne bool, count int64) (int, []byte) {
	var body []byte
	n := 0
	for _, d := range pending {
		if justOne && d.Consumer != consumer {
			continue
		}
		if count > 0 && int64(n) >= count {
			break
		}
		id, ok := c.idOf(er, gs, d.Offset)
		if !ok {
			continue
		}
		if justOne {
			body = append(body, "*3\r\n"...)
			body = appendIDBulk(body, id)
		} else {
			body = append(body, "*4\r\n"...)
			body = appendIDBulk(body, id)
			body = resp.AppendBulkString(body, d.Consumer)
		}
		body = resp.AppendInt(body, d.LastDelivered.UnixMilli())
		body = resp.AppendInt(body, int64(d.Count))
		n++
	}
	return n, body
}

// cmdGannetXGroup is Gannet's extension to consumer groups, which standard
// clients never send:
//
//	GANNET.XGROUP SETRETRY <key> <group> <max-deliveries> <dead-letter-stream>
//
// An entry whose delivery count has reached max-deliveries is not claimed
// again by XCLAIM or XAUTOCLAIM: it moves to the dead-letter stream (created
// if missing) and leaves the pending list. max-deliveries 0 turns it off.
func cmdGannetXGroup(c *conn, args [][]byte) {
	if !equalFold(args[1], "setretry") {
		if equalFold(args[1], "help") {
			c.array(2)
			c.simple("GANNET.XGROUP SETRETRY <key> <group> <max-deliveries> <dead-letter-stream>")
			c.simple("HELP")
			return
		}
		c.unknownSubcommand(args)
		return
	}
	if len(args) != 6 {
		c.subArity(args)
		return
	}
	key, group := args[2], args[3]
	n, ok := resp.ParseInt(args[4])
	if !ok || n < 0 {
		c.err("ERR max-deliveries must be an integer >= 0")
		return
	}
	dl := string(args[5])
	if n > 0 && dl == string(key) {
		c.err("ERR the dead-letter stream must differ from the stream")
		return
	}
	if _, _, _, ok := c.group(key, group); !ok {
		c.noSuchGroup(key, group)
		return
	}
	if n > 0 {
		if err := c.s.declare(dl); err != nil {
			c.err("ERR " + err.Error())
			return
		}
	}
	_, err := c.s.deps.Broker.UpdateStream(string(key), func(cfg *broker.StreamConfig) error {
		if n == 0 {
			delete(cfg.Attributes, attrRetry(string(group)))
		} else {
			cfg.Attributes[attrRetry(string(group))] = strconv.FormatInt(n, 10) + " " + dl
		}
		return nil
	})
	if err != nil {
		c.err("ERR " + err.Error())
		return
	}
	c.group(key, group) // apply now
	c.ok()
}
