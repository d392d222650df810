package server

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"

	"github.com/gannet-mq/gannet/internal/broker"
)

func cmdInfo(c *conn, args [][]byte) {
	all := len(args) == 1
	want := map[string]bool{}
	for _, a := range args[1:] {
		s := strings.ToLower(string(a))
		if s == "all" || s == "everything" || s == "default" {
			all = true
		}
		want[s] = true
	}
	var b strings.Builder
	section := func(name string, body func()) {
		if all || want[strings.ToLower(name)] {
			if b.Len() > 0 {
				b.WriteString("\r\n")
			}
			b.WriteString("# " + name + "\r\n")
			body()
		}
	}
	kv := func(k string, v any) { fmt.Fprintf(&b, "%s:%v\r\n", k, v) }
	up := c.s.now().Sub(c.s.started)
	section("Server", func() {
		kv("redis_version", RedisVersion)
		kv("redis_mode", "standalone")
		kv("os", runtime.GOOS+" "+runtime.GOARCH)
		kv("arch_bits", 64)
		kv("gannet", "1")
		kv("process_id", os.Getpid())
		kv("tcp_port", portOf(c.nc.LocalAddr().String()))
		kv("uptime_in_seconds", int64(up.Seconds()))
		kv("uptime_in_days", int64(up.Hours()/24))
	})
	section("Clients", func() {
		clients := c.s.clientList()
		blocked := 0
		for _, o := range clients {
			if o.blocked.Load() {
				blocked++
			}
		}
		kv("connected_clients", len(clients))
		kv("blocked_clients", blocked)
	})
	section("Persistence", func() {
		kv("loading", 0)
		kv("aof_enabled", 1)
	})
	section("Replication", func() {
		kv("role", "master")
		kv("connected_slaves", 0)
	})
	section("Keyspace", func() {
		if n := len(c.s.deps.Broker.Streams()); n > 0 {
			kv("db0", fmt.Sprintf("keys=%d,expires=0,avg_ttl=0", n))
		}
	})
	c.verbatim(b.String())
}

func portOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return addr[i+1:]
	}
	return addr
}

func cmdCommand(c *conn, args [][]byte) {
	sub := "info" // COMMAND alone is COMMAND INFO of every command
	if len(args) > 1 {
		sub = strings.ToLower(string(args[1]))
	}
	switch sub {
	case "count":
		c.integer(int64(len(commandTable)))
	case "info":
		names := args[min(2, len(args)):]
		if len(names) == 0 {
			all := sortedCommandNames()
			c.array(len(all))
			for _, n := range all {
				c.commandInfo(commandTable[n])
			}
			return
		}
		c.array(len(names))
		for _, n := range names {
			if h, ok := commandTable[strings.ToLower(string(n))]; ok {
				c.commandInfo(h)
			} else {
				c.nullArray()
			}
		}
	case "docs":
		// Gannet keeps no command documentation; clients treat an empty
		// map as "no docs" (redis-cli then falls back to its own hints).
		c.mapHeader(0)
	case "list":
		names := sortedCommandNames()
		c.array(len(names))
		for _, n := range names {
			c.bulkString(n)
		}
	default:
		c.unknownSubcommand(args)
	}
}

func sortedCommandNames() []string {
	names := make([]string, 0, len(commandTable))
	for n := range commandTable {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (c *conn) commandInfo(h *command) {
	c.array(10)
	c.bulkString(h.name)
	c.integer(int64(h.arity))
	c.setHeader(len(h.flags))
	for _, f := range h.flags {
		c.simple(f)
	}
	c.integer(int64(h.first))
	c.integer(int64(h.last))
	c.integer(int64(h.step))
	c.setHeader(0)
	c.setHeader(0)
	c.array(0)
	c.array(0)
}

// configValues are the settings clients probe, with the values that
// describe what Gannet does.
var configValues = [][2]string{
	{"appendonly", "yes"},
	{"appendfsync", ""}, // the broker's fsync policy, see appendfsync
	{"databases", "1"},
	{"maxmemory", "0"},
	{"maxmemory-policy", "noeviction"},
	{"save", ""},
	{"stream-node-max-entries", "100"},
	{"stream-node-max-bytes", "4096"},
	{"timeout", "0"},
	{"port", ""},
}

// appendfsync names the broker's fsync policy as Redis would: "always"
// fsyncs before each reply, "interval" is Redis' "everysec" (Gannet's
// default interval is a second), "never" is "no".
func appendfsync(p broker.FsyncPolicy) string {
	switch p {
	case broker.FsyncInterval:
		return "everysec"
	case broker.FsyncNever:
		return "no"
	}
	return "always"
}

func cmdConfig(c *conn, args [][]byte) {
	switch strings.ToLower(string(args[1])) {
	case "get":
		if len(args) < 3 {
			c.subArity(args)
			return
		}
		var match [][2]string
		for _, kv := range configValues {
			for _, p := range args[2:] {
				if globMatch(strings.ToLower(string(p)), kv[0]) {
					v := kv[1]
					switch kv[0] {
					case "port":
						v = portOf(c.nc.LocalAddr().String())
					case "appendfsync":
						v = appendfsync(c.s.deps.Broker.Fsync())
					}
					match = append(match, [2]string{kv[0], v})
					break
				}
			}
		}
		c.mapHeader(len(match))
		for _, kv := range match {
			c.bulkString(kv[0])
			c.bulkString(kv[1])
		}
	case "set":
		if len(args) < 4 || len(args)%2 != 0 {
			c.subArity(args)
			return
		}
		c.errorf("ERR Unknown option or number of arguments for CONFIG SET - '%s'", args[2])
	case "resetstat":
		c.ok()
	default:
		c.unknownSubcommand(args)
	}
}
