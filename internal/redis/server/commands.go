package server

import (
	"fmt"
	"strings"

	"github.com/gannet-mq/gannet/internal/redis/resp"
)

// command is one entry of the command table. arity follows Redis: n > 0
// means exactly n arguments (the name included), n < 0 at least -n.
type command struct {
	name   string
	arity  int
	noAuth bool
	flags  []string
	first  int // first key position, for COMMAND INFO
	last   int
	step   int
	run    func(c *conn, args [][]byte)
}

func (h *command) arityOK(n int) bool {
	if h.arity > 0 {
		return n == h.arity
	}
	return n >= -h.arity
}

var commandTable map[string]*command

func init() {
	cmds := []*command{
		{name: "ping", arity: -1, run: cmdPing, flags: []string{"fast"}},
		{name: "echo", arity: 2, run: cmdEcho, flags: []string{"fast"}},
		{name: "quit", arity: -1, noAuth: true, run: cmdQuit},
		{name: "reset", arity: 1, noAuth: true, run: cmdReset},
		{name: "hello", arity: -1, noAuth: true, run: cmdHello},
		{name: "auth", arity: -2, noAuth: true, run: cmdAuth},
		{name: "select", arity: 2, run: cmdSelect},
		{name: "client", arity: -2, run: cmdClient},
		{name: "info", arity: -1, run: cmdInfo},
		{name: "command", arity: -1, run: cmdCommand},
		{name: "config", arity: -2, run: cmdConfig},
		{name: "del", arity: -2, run: cmdDel, first: 1, last: -1, step: 1, flags: []string{"write"}},
		{name: "unlink", arity: -2, run: cmdDel, first: 1, last: -1, step: 1, flags: []string{"write"}},
		{name: "exists", arity: -2, run: cmdExists, first: 1, last: -1, step: 1, flags: []string{"readonly"}},
		{name: "type", arity: 2, run: cmdType, first: 1, last: 1, step: 1, flags: []string{"readonly"}},
		{name: "keys", arity: 2, run: cmdKeys, flags: []string{"readonly"}},
		{name: "scan", arity: -2, run: cmdScan, flags: []string{"readonly"}},
		{name: "dbsize", arity: 1, run: cmdDBSize, flags: []string{"readonly"}},
		{name: "flushdb", arity: -1, run: cmdFlush, flags: []string{"write"}},
		{name: "flushall", arity: -1, run: cmdFlush, flags: []string{"write"}},
		{name: "xadd", arity: -5, run: cmdXAdd, first: 1, last: 1, step: 1, flags: []string{"write", "denyoom", "fast"}},
		{name: "xlen", arity: 2, run: cmdXLen, first: 1, last: 1, step: 1, flags: []string{"readonly", "fast"}},
		{name: "xrange", arity: -4, run: cmdXRange, first: 1, last: 1, step: 1, flags: []string{"readonly"}},
		{name: "xrevrange", arity: -4, run: cmdXRevRange, first: 1, last: 1, step: 1, flags: []string{"readonly"}},
		{name: "xread", arity: -4, run: cmdXRead, flags: []string{"readonly", "blocking"}},
		{name: "xreadgroup", arity: -7, run: cmdXReadGroup, flags: []string{"write", "blocking"}},
		{name: "xack", arity: -4, run: cmdXAck, first: 1, last: 1, step: 1, flags: []string{"write", "fast"}},
		{name: "xgroup", arity: -2, run: cmdXGroup},
		{name: "xpending", arity: -3, run: cmdXPending, first: 1, last: 1, step: 1, flags: []string{"readonly"}},
		{name: "xclaim", arity: -6, run: cmdXClaim, first: 1, last: 1, step: 1, flags: []string{"write", "fast"}},
		{name: "xautoclaim", arity: -6, run: cmdXAutoClaim, first: 1, last: 1, step: 1, flags: []string{"write", "fast"}},
		{name: "xtrim", arity: -4, run: cmdXTrim, first: 1, last: 1, step: 1, flags: []string{"write"}},
		{name: "xdel", arity: -3, run: cmdXDel, first: 1, last: 1, step: 1, flags: []string{"write", "fast"}},
		{name: "xsetid", arity: -3, run: cmdXSetID, first: 1, last: 1, step: 1, flags: []string{"write", "denyoom", "fast"}},
		{name: "xinfo", arity: -2, run: cmdXInfo},
		{name: "gannet.xgroup", arity: -2, run: cmdGannetXGroup},
	}
	commandTable = make(map[string]*command, len(cmds))
	for _, h := range cmds {
		commandTable[h.name] = h
	}
}

// reply helpers: every reply is appended to c.out.

func (c *conn) ok()                       { c.out = append(c.out, "+OK\r\n"...) }
func (c *conn) simple(s string)           { c.out = resp.AppendSimple(c.out, s) }
func (c *conn) err(line string)           { c.out = resp.AppendError(c.out, line) }
func (c *conn) errorf(f string, a ...any) { c.err(fmt.Sprintf(f, a...)) }
func (c *conn) integer(n int64)           { c.out = resp.AppendInt(c.out, n) }
func (c *conn) bulk(p []byte)             { c.out = resp.AppendBulk(c.out, p) }
func (c *conn) bulkString(s string)       { c.out = resp.AppendBulkString(c.out, s) }
func (c *conn) null()                     { c.out = resp.AppendNull(c.out, c.ver) }
func (c *conn) nullArray()                { c.out = resp.AppendNullArray(c.out, c.ver) }
func (c *conn) array(n int)               { c.out = resp.AppendArrayHeader(c.out, n) }
func (c *conn) mapHeader(n int)           { c.out = resp.AppendMapHeader(c.out, c.ver, n) }
func (c *conn) setHeader(n int)           { c.out = resp.AppendSetHeader(c.out, c.ver, n) }
func (c *conn) verbatim(text string)      { c.out = resp.AppendVerbatim(c.out, c.ver, "txt", []byte(text)) }
func (c *conn) entryID(id streamID)       { c.out = appendIDBulk(c.out, id) }
func (c *conn) syntaxError()              { c.err("ERR syntax error") }
func (c *conn) notInteger()               { c.err("ERR value is not an integer or out of range") }

func appendIDBulk(b []byte, id streamID) []byte {
	var tmp [48]byte
	s := id.appendTo(tmp[:0])
	return resp.AppendBulk(b, s)
}

func (c *conn) unknown(args [][]byte) {
	var b strings.Builder
	for _, a := range args[1:] {
		if b.Len() >= 128 {
			break
		}
		s := string(a)
		if len(s) > 128-b.Len() {
			s = s[:128-b.Len()]
		}
		fmt.Fprintf(&b, "'%s' ", s)
	}
	name := string(args[0])
	if len(name) > 128 {
		name = name[:128]
	}
	c.errorf("ERR unknown command '%s', with args beginning with: %s", name, b.String())
}

func (c *conn) unknownSubcommand(args [][]byte) {
	c.errorf("ERR unknown subcommand '%.128s'. Try %s HELP.", args[1], strings.ToUpper(string(args[0])))
}

// help replies to "<cmd> HELP": the usage line, a line per subcommand, HELP.
func (c *conn) help(cmd string, subcommands ...string) {
	c.array(len(subcommands) + 2)
	c.simple(cmd + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range subcommands {
		c.simple(l)
	}
	c.simple("HELP")
}

func (c *conn) subArity(args [][]byte) {
	c.errorf("ERR wrong number of arguments for '%s|%s' command",
		strings.ToLower(string(args[0])), strings.ToLower(string(args[1])))
}

func equalFold(b []byte, s string) bool { return strings.EqualFold(string(b), s) }
