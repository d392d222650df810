package server

import (
	"errors"
	"strings"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/redis/resp"
)

func cmdXGroup(c *conn, args [][]byte) {
	sub := strings.ToLower(string(args[1]))
	b := c.s.deps.Broker
	need := map[string]int{"create": -5, "setid": -5, "destroy": 4, "createconsumer": 5, "delconsumer": 5, "help": 2}
	ar, known := need[sub]
	if !known {
		c.unknownSubcommand(args)
		return
	}
	if (ar > 0 && len(args) != ar) || (ar < 0 && len(args) < -ar) {
		c.subArity(args)
		return
	}
	if sub == "help" {
		c.help("XGROUP",
			"CREATE <key> <groupname> <id|$> [option]",
			"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
			"DESTROY <key> <groupname>",
			"CREATECONSUMER <key> <groupname> <consumer>",
			"DELCONSUMER <key> <groupname> <consumer>")
		return
	}
	key, group := args[2], args[3]
	mkStream := false
	if sub == "create" || sub == "setid" {
		for i := 5; i < len(args); i++ {
			more := len(args) - 1 - i
			switch {
			case sub == "create" && equalFold(args[i], "mkstream"):
				mkStream = true
			case equalFold(args[i], "entriesread") && more >= 1:
				n, ok := resp.ParseInt(args[i+1])
				if !ok {
					c.notInteger()
					return
				}
				if n < 0 && n != -1 {
					c.err("ERR value for ENTRIESREAD must be positive or -1")
					return
				}
				i++
			default:
				c.subSyntax(args)
				return
			}
		}
	}
	part, exists := c.partition(key)
	if !exists && !(sub == "create" && mkStream) {
		c.err("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
		return
	}
	var g broker.Group
	var gs *groupState
	if sub == "setid" || sub == "createconsumer" || sub == "delconsumer" {
		var ok bool
		if g, _, gs, ok = c.group(key, group); !ok {
			c.noSuchGroup(key, group)
			return
		}
	}
	switch sub {
	case "create":
		idArg := args[4]
		var after streamID
		dollar := len(idArg) == 1 && idArg[0] == '$'
		if !dollar {
			id, _, ok := parseID(idArg, 0, false)
			if !ok {
				c.err(errInvalidID)
				return
			}
			after = id
		}
		if !exists {
			if err := c.s.declare(string(key)); err != nil {
				c.err("ERR " + err.Error())
				return
			}
			part, _ = c.partition(key)
		}
		start := broker.StartAtBegin
		if dollar {
			start = broker.StartAtEnd
		}
		g, err := b.CreateGroup(string(key), string(group), broker.GroupConfig{}, start)
		if errors.Is(err, broker.ErrExists) {
			c.err("BUSYGROUP Consumer Group name already exists")
			return
		}
		if err != nil {
			c.err("ERR " + err.Error())
			return
		}
		c.s.forgetGroup(string(key), string(group))
		if !dollar && !after.isZero() {
			// The group was declared at the log start: the move is journaled
			// apart from it, and the reply waits until it is durable.
			next, _ := after.incr()
			g.MoveNext(0, seek(part, next))
			c.syncState = true
		}
		c.ok()
	case "setid":
		idArg := args[4]
		if len(idArg) == 1 && idArg[0] == '$' {
			g.MoveNext(0, part.EndOffset())
		} else {
			id, _, okID := parseID(idArg, 0, false)
			if !okID {
				c.err(errInvalidID)
				return
			}
			next, _ := id.incr()
			g.MoveNext(0, seek(part, next))
		}
		c.syncState = true
		c.ok()
	case "destroy":
		err := b.DeleteGroup(string(key), string(group))
		c.s.forgetGroup(string(key), string(group))
		if err != nil {
			c.integer(0)
		} else {
			c.integer(1)
		}
	case "createconsumer":
		gs.mu.Lock()
		_, had := gs.consumers[string(args[4])]
		if !had {
			gs.touch(string(args[4]), c.s.now())
		}
		gs.mu.Unlock()
		if had {
			c.integer(0)
		} else {
			c.integer(1)
		}
	case "delconsumer":
		n := g.Forget(string(args[4]))
		gs.mu.Lock()
		delete(gs.consumers, string(args[4]))
		gs.mu.Unlock()
		c.syncState = true
		c.integer(int64(n))
	}
}

func (c *conn) subSyntax(args [][]byte) {
	c.errorf("ERR unknown subcommand or wrong number of arguments for '%s'. Try %s HELP.", args[1], strings.ToUpper(string(args[0])))
}
