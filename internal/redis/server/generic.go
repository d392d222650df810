package server

import (
	"fmt"
	"strings"

	"github.com/gannet-mq/gannet/internal/redis/resp"
)

// RedisVersion is the Redis release whose stream command set, replies and
// errors the front-end reproduces.
const RedisVersion = "7.0.15"

func cmdPing(c *conn, args [][]byte) {
	switch len(args) {
	case 1:
		c.out = append(c.out, "+PONG\r\n"...)
	case 2:
		c.bulk(args[1])
	default:
		c.err("ERR wrong number of arguments for 'ping' command")
	}
}

func cmdEcho(c *conn, args [][]byte) { c.bulk(args[1]) }

func cmdQuit(c *conn, args [][]byte) {
	c.ok()
	c.quit = true
}

func cmdReset(c *conn, args [][]byte) {
	c.infoMu.Lock()
	c.ver = resp.RESP2
	c.name = ""
	c.infoMu.Unlock()
	c.authed = c.s.deps.Password == ""
	c.simple("RESET")
}

func cmdSelect(c *conn, args [][]byte) {
	n, ok := resp.ParseInt(args[1])
	switch {
	case !ok:
		c.notInteger()
	case n != 0:
		c.err("ERR DB index is out of range")
	default:
		c.ok()
	}
}

func cmdAuth(c *conn, args [][]byte) {
	if len(args) > 3 {
		c.syntaxError()
		return
	}
	if c.s.deps.Password == "" {
		c.err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
		return
	}
	user, pass := "default", string(args[len(args)-1])
	if len(args) == 3 {
		user = string(args[1])
	}
	if user != "default" || pass != c.s.deps.Password {
		c.err("WRONGPASS invalid username-password pair or user is disabled.")
		return
	}
	c.authed = true
	c.ok()
}

func cmdHello(c *conn, args [][]byte) {
	ver := c.ver
	if len(args) > 1 {
		n, ok := resp.ParseInt(args[1])
		if !ok {
			c.err("ERR Protocol version is not an integer or out of range")
			return
		}
		if n < 2 || n > 3 {
			c.err("NOPROTO unsupported protocol version")
			return
		}
		ver = resp.Version(n)
	}
	authed := c.authed
	name := c.name
	for i := 2; i < len(args); i++ {
		more := len(args) - 1 - i
		switch {
		case equalFold(args[i], "auth") && more >= 2:
			user, pass := string(args[i+1]), string(args[i+2])
			i += 2
			if c.s.deps.Password == "" {
				if user != "default" {
					c.err("WRONGPASS invalid username-password pair or user is disabled.")
					return
				}
			} else if user != "default" || pass != c.s.deps.Password {
				c.err("WRONGPASS invalid username-password pair or user is disabled.")
				return
			}
			authed = true
		case equalFold(args[i], "setname") && more >= 1:
			if !validClientName(args[i+1]) {
				c.err("ERR Client names cannot contain spaces, newlines or special characters.")
				return
			}
			name = string(args[i+1])
			i++
		default:
			c.errorf("ERR Syntax error in HELLO option '%s'", args[i])
			return
		}
	}
	if !authed {
		c.err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	c.authed = true
	c.infoMu.Lock()
	c.name, c.ver = name, ver
	c.infoMu.Unlock()
	c.mapHeader(7)
	c.bulkString("server")
	c.bulkString("redis")
	c.bulkString("version")
	c.bulkString(RedisVersion)
	c.bulkString("proto")
	c.integer(int64(ver))
	c.bulkString("id")
	c.integer(c.id)
	c.bulkString("mode")
	c.bulkString("standalone")
	c.bulkString("role")
	c.bulkString("master")
	c.bulkString("modules")
	c.array(0)
}

func validClientName(b []byte) bool {
	for _, ch := range b {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

func cmdClient(c *conn, args [][]byte) {
	sub := strings.ToLower(string(args[1]))
	switch {
	case sub == "setname" && len(args) == 3:
		if !validClientName(args[2]) {
			c.err("ERR Client names cannot contain spaces, newlines or special characters.")
			return
		}
		c.infoMu.Lock()
		c.name = string(args[2])
		c.infoMu.Unlock()
		c.ok()
	case sub == "getname" && len(args) == 2:
		if c.name == "" {
			c.null()
		} else {
			c.bulkString(c.name)
		}
	case sub == "id" && len(args) == 2:
		c.integer(c.id)
	case sub == "info" && len(args) == 2:
		c.verbatim(c.infoLine() + "\n")
	case sub == "list":
		var b strings.Builder
		for _, o := range c.s.clientList() {
			b.WriteString(o.infoLine())
			b.WriteByte('\n')
		}
		c.verbatim(b.String())
	case sub == "setinfo" && len(args) == 4:
		// Redis 7.2's CLIENT SETINFO, which go-redis sends on connect.
		attr := strings.ToLower(string(args[2]))
		if attr != "lib-name" && attr != "lib-ver" {
			c.errorf("ERR Unrecognized option '%s'", args[2])
			return
		}
		if !validClientName(args[3]) {
			c.errorf("ERR %s cannot contain spaces, newlines or special characters.", attr)
			return
		}
		c.infoMu.Lock()
		if attr == "lib-name" {
			c.libName = string(args[3])
		} else {
			c.libVer = string(args[3])
		}
		c.infoMu.Unlock()
		c.ok()
	case sub == "help":
		c.help("CLIENT", "GETNAME, SETNAME, ID, INFO, LIST, SETINFO")
	case sub == "setname" || sub == "getname" || sub == "id" || sub == "info" || sub == "setinfo":
		c.subArity(args)
	default:
		c.unknownSubcommand(args)
	}
}

// infoLine is the connection's CLIENT LIST line; other connections call it.
func (c *conn) infoLine() string {
	age := int64(c.s.now().Sub(c.created).Seconds())
	flags := "N"
	if c.blocked.Load() {
		flags = "b"
	}
	cmd := ""
	if h := c.lastCmd.Load(); h != nil {
		cmd = h.name
	}
	c.infoMu.Lock()
	defer c.infoMu.Unlock()
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=0 name=%s age=%d idle=0 flags=%s db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=%s user=default redir=-1 resp=%d lib-name=%s lib-ver=%s",
		c.id, c.nc.RemoteAddr(), c.nc.LocalAddr(), c.name, age, flags, cmd, c.ver, c.libName, c.libVer)
}
