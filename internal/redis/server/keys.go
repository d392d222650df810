package server

import (
	"strconv"
	"strings"

	"github.com/gannet-mq/gannet/internal/redis/resp"
)

// streamExists reports whether a stream of that name exists in the broker.
func (c *conn) streamExists(name []byte) bool {
	_, err := c.s.deps.Broker.Stream(string(name))
	return err == nil
}

func cmdDel(c *conn, args [][]byte) {
	n := 0
	for _, k := range args[1:] {
		if c.s.deleteStream(string(k)) {
			n++
		}
	}
	c.integer(int64(n))
}

func (s *Server) deleteStream(name string) bool {
	err := s.deps.Broker.DeleteStream(name)
	s.forgetStream(name)
	return err == nil
}

func cmdExists(c *conn, args [][]byte) {
	n := 0
	for _, k := range args[1:] {
		if c.streamExists(k) {
			n++
		}
	}
	c.integer(int64(n))
}

func cmdType(c *conn, args [][]byte) {
	if c.streamExists(args[1]) {
		c.simple("stream")
	} else {
		c.simple("none")
	}
}

func (c *conn) keys(pattern string) []string {
	var out []string
	for _, info := range c.s.deps.Broker.Streams() {
		if globMatch(pattern, info.Name) {
			out = append(out, info.Name)
		}
	}
	return out
}

func cmdKeys(c *conn, args [][]byte) {
	keys := c.keys(string(args[1]))
	c.array(len(keys))
	for _, k := range keys {
		c.bulkString(k)
	}
}

// cmdScan returns every match in one step (cursor 0): stream names are
// few and listing them is cheap.
func cmdScan(c *conn, args [][]byte) {
	if _, err := strconv.ParseUint(string(args[1]), 10, 64); err != nil {
		c.err("ERR invalid cursor")
		return
	}
	pattern, typ := "*", ""
	for i := 2; i < len(args); i++ {
		more := len(args) - 1 - i
		switch {
		case equalFold(args[i], "match") && more >= 1:
			pattern = string(args[i+1])
			i++
		case equalFold(args[i], "count") && more >= 1:
			n, ok := resp.ParseInt(args[i+1])
			if !ok {
				c.notInteger()
				return
			}
			if n < 1 {
				c.syntaxError()
				return
			}
			i++
		case equalFold(args[i], "type") && more >= 1:
			typ = strings.ToLower(string(args[i+1]))
			i++
		default:
			c.syntaxError()
			return
		}
	}
	var keys []string
	if typ == "" || typ == "stream" {
		keys = c.keys(pattern)
	}
	c.array(2)
	c.bulkString("0")
	c.array(len(keys))
	for _, k := range keys {
		c.bulkString(k)
	}
}

func cmdDBSize(c *conn, args [][]byte) { c.integer(int64(len(c.s.deps.Broker.Streams()))) }

// cmdFlush deletes every stream of the broker: Redis has one namespace and
// so does Gannet, so this removes queues and topics of every protocol.
func cmdFlush(c *conn, args [][]byte) {
	if len(args) > 2 || (len(args) == 2 && !equalFold(args[1], "sync") && !equalFold(args[1], "async")) {
		c.syntaxError()
		return
	}
	for _, info := range c.s.deps.Broker.Streams() {
		c.s.deleteStream(info.Name)
	}
	c.ok()
}

// globMatch is Redis' stringmatchlen: *, ?, [set], [^set], [a-z] and \x.
func globMatch(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for len(pattern) > 1 && pattern[1] == '*' {
				pattern = pattern[1:]
			}
			if len(pattern) == 1 {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if globMatch(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
			s = s[1:]
		case '[':
			if len(s) == 0 {
				return false
			}
			p := pattern[1:]
			not := len(p) > 0 && p[0] == '^'
			if not {
				p = p[1:]
			}
			match := false
			for len(p) > 0 && p[0] != ']' {
				switch {
				case p[0] == '\\' && len(p) >= 2:
					p = p[1:]
					if p[0] == s[0] {
						match = true
					}
				case len(p) >= 3 && p[1] == '-':
					lo, hi := p[0], p[2]
					if lo > hi {
						lo, hi = hi, lo
					}
					if s[0] >= lo && s[0] <= hi {
						match = true
					}
					p = p[2:]
				default:
					if p[0] == s[0] {
						match = true
					}
				}
				p = p[1:]
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			if len(p) == 0 {
				return false
			}
			pattern = p
			s = s[1:]
		case '\\':
			if len(pattern) >= 2 {
				pattern = pattern[1:]
			}
			fallthrough
		default:
			if len(s) == 0 || s[0] != pattern[0] {
				return false
			}
			s = s[1:]
		}
		pattern = pattern[1:]
	}
	return len(s) == 0
}
