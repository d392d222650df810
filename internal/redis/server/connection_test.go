package server

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gannet-mq/gannet/internal/broker"
)

func TestConnectionCommands(t *testing.T) {
	ts := startServer(t, "")
	// go-redis v9 sends HELLO 3 and CLIENT SETINFO when it connects.
	c := ts.client(3)
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if v := c.Do(ctx, "HELLO", "3").Val().(map[any]any); v["version"] != RedisVersion || v["proto"] != int64(3) || v["server"] != "redis" {
		t.Fatalf("HELLO 3 = %v", v)
	}
	if lib := c.ClientInfo(ctx).Val(); lib == nil || !strings.HasPrefix(lib.LibName, "go-redis") {
		t.Fatalf("CLIENT INFO = %+v", lib)
	}
	c.Do(ctx, "CLIENT", "SETNAME", "worker-1")
	if n := c.ClientGetName(ctx).Val(); n != "worker-1" {
		t.Fatalf("CLIENT GETNAME = %q", n)
	}
	if id := c.ClientID(ctx).Val(); id <= 0 {
		t.Fatalf("CLIENT ID = %d", id)
	}
	if list := c.ClientList(ctx).Val(); !strings.Contains(list, "name=worker-1") {
		t.Fatalf("CLIENT LIST = %q", list)
	}
	info := c.Info(ctx, "server").Val()
	if !strings.Contains(info, "redis_version:"+RedisVersion) {
		t.Fatalf("INFO server = %q", info)
	}
	if n := c.Do(ctx, "COMMAND", "COUNT").Val().(int64); n != int64(len(commandTable)) {
		t.Fatalf("COMMAND COUNT = %d", n)
	}
	if cmds := c.Command(ctx).Val(); cmds["xadd"] == nil || cmds["xadd"].Arity != -5 {
		t.Fatalf("COMMAND = %+v", cmds["xadd"])
	}
	if docs := c.Do(ctx, "COMMAND", "DOCS", "xadd").Err(); docs != nil {
		t.Fatalf("COMMAND DOCS: %v", docs)
	}
	if cfg := c.ConfigGet(ctx, "stream-node-*").Val(); cfg["stream-node-max-entries"] != "100" {
		t.Fatalf("CONFIG GET = %v", cfg)
	}
	if err := c.Do(ctx, "SELECT", "0").Err(); err != nil {
		t.Fatal(err)
	}
	c.XAdd(ctx, &redis.XAddArgs{Stream: "orders", Values: []string{"a", "1"}})
	c.XAdd(ctx, &redis.XAddArgs{Stream: "other", Values: []string{"a", "1"}})
	if keys := c.Keys(ctx, "ord*").Val(); len(keys) != 1 || keys[0] != "orders" {
		t.Fatalf("KEYS = %v", keys)
	}
	if keys, cur := c.Scan(ctx, 0, "*", 10).Val(); len(keys) != 2 || cur != 0 {
		t.Fatalf("SCAN = %v %d", keys, cur)
	}
	if keys, _ := c.ScanType(ctx, 0, "*", 10, "string").Val(); len(keys) != 0 {
		t.Fatalf("SCAN TYPE string = %v", keys)
	}
	if n := c.DBSize(ctx).Val(); n != 2 {
		t.Fatalf("DBSIZE = %d", n)
	}
	if n := c.Del(ctx, "other", "missing").Val(); n != 1 {
		t.Fatalf("DEL = %d", n)
	}
	mustErr(t, c.Do(ctx, "GET", "orders").Err(), "ERR unknown command 'GET', with args beginning with: 'orders' ")
	c.FlushDB(ctx)
	if n := c.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("DBSIZE after FLUSHDB = %d", n)
	}
	// RESET returns to RESP2; QUIT closes.
	raw := dialRaw(t, ts.addr)
	if r := raw.do("HELLO", "3"); !strings.HasPrefix(r, "%7") {
		t.Fatalf("HELLO 3 raw = %q", r)
	}
	if r := raw.do("CLIENT", "GETNAME"); r != "_\r\n" {
		t.Fatalf("RESP3 null = %q", r)
	}
	if r := raw.do("RESET"); r != "+RESET\r\n" {
		t.Fatalf("RESET = %q", r)
	}
	if r := raw.do("CLIENT", "GETNAME"); r != "$-1\r\n" {
		t.Fatalf("RESP2 null after RESET = %q", r)
	}
	if r := raw.do("QUIT"); r != "+OK\r\n" {
		t.Fatalf("QUIT = %q", r)
	}
	expectClosed(t, raw)
}

func TestAuth(t *testing.T) {
	ts := startServerWith(t, "", func(d *Deps) { d.Password = "secret" })
	raw := dialRaw(t, ts.addr)
	if r := raw.do("XLEN", "s"); r != "-NOAUTH Authentication required.\r\n" {
		t.Fatalf("before AUTH: %q", r)
	}
	if r := raw.do("AUTH", "wrong"); !strings.HasPrefix(r, "-WRONGPASS") {
		t.Fatalf("AUTH wrong: %q", r)
	}
	if r := raw.do("AUTH", "default", "secret"); r != "+OK\r\n" {
		t.Fatalf("AUTH: %q", r)
	}
	c := redis.NewClient(&redis.Options{Addr: ts.addr, Password: "secret"})
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("go-redis with a password: %v", err)
	}
}

func expectClosed(t *testing.T, c *rawClient) {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.r.ReadByte(); err != io.EOF {
		t.Fatalf("connection not closed: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	ts := startServer(t, "")
	cases := []struct {
		name, input, reply string
	}{
		{"bulk length over the limit", "*2\r\n$4\r\nECHO\r\n$999999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"multibulk count of billions", "*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"not a bulk", "*1\r\n:1\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"},
		{"unbalanced quotes", "ECHO \"abc\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, ts.addr)
			c.send([]byte(tc.input))
			if r := c.reply(); r != tc.reply {
				t.Fatalf("reply %q, want %q", r, tc.reply)
			}
			expectClosed(t, c)
		})
	}
	t.Run("protocol error after pipelined XADDs", func(t *testing.T) {
		// The XADDs wait for their ids when the bad command is read; the
		// connection answers them before the error that closes it.
		c := dialRaw(t, ts.addr)
		c.send([]byte("XADD q 1-1 a b\r\nXADD q 1-2 c d\r\n*1\r\n:1\r\n"))
		for _, want := range []string{"$3\r\n1-1\r\n", "$3\r\n1-2\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"} {
			if r := c.reply(); r != want {
				t.Fatalf("reply %q, want %q", r, want)
			}
		}
		expectClosed(t, c)
	})
	t.Run("unterminated line then close", func(t *testing.T) {
		c := dialRaw(t, ts.addr)
		c.send([]byte("*1\r\n$4\r\nPI"))
		c.nc.(*net.TCPConn).CloseWrite()
		expectClosed(t, c)
	})
	t.Run("inline line too long", func(t *testing.T) {
		c := dialRaw(t, ts.addr)
		c.send([]byte(strings.Repeat("x", 70<<10)))
		if r := c.reply(); r != "-ERR Protocol error: too big inline request\r\n" {
			t.Fatalf("reply %q", r)
		}
		expectClosed(t, c)
	})
	t.Run("wrong arity keeps the connection", func(t *testing.T) {
		c := dialRaw(t, ts.addr)
		if r := c.do("XADD", "s"); r != "-ERR wrong number of arguments for 'xadd' command\r\n" {
			t.Fatalf("reply %q", r)
		}
		if r := c.do("XGROUP", "CREATE", "s"); r != "-ERR wrong number of arguments for 'xgroup|create' command\r\n" {
			t.Fatalf("reply %q", r)
		}
		if r := c.do("PING"); r != "+PONG\r\n" {
			t.Fatalf("after arity errors: %q", r)
		}
	})
	t.Run("inline commands and pipelining", func(t *testing.T) {
		c := dialRaw(t, ts.addr)
		c.send([]byte("PING\r\nXADD p 1-1 a b\r\nXADD p 1-2 c d\r\nXLEN p\r\n"))
		for _, want := range []string{"+PONG\r\n", "$3\r\n1-1\r\n", "$3\r\n1-2\r\n", ":2\r\n"} {
			if r := c.reply(); r != want {
				t.Fatalf("reply %q, want %q", r, want)
			}
		}
	})
}

func TestShutdownEndsIdleAndBlockedConnections(t *testing.T) {
	ts := startServer(t, "")
	idle := dialRaw(t, ts.addr)
	idle.do("PING")
	blocked := dialRaw(t, ts.addr)
	blocked.send(encodeCommand("XREAD", "BLOCK", "0", "STREAMS", "s", "$"))
	waitBlocked(t, ts, 1)
	start := time.Now()
	ts.stop()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
	expectClosed(t, idle)
	expectClosed(t, blocked)
}

func TestConfigGetAppendfsyncReportsTheBrokersFsyncPolicy(t *testing.T) {
	for policy, want := range map[broker.FsyncPolicy]string{
		broker.FsyncAlways: "always", broker.FsyncInterval: "everysec", broker.FsyncNever: "no",
	} {
		b, err := broker.Open(broker.Options{DataDir: t.TempDir(), Fsync: policy})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		ts := startServerWith(t, "", func(d *Deps) { d.Broker = b })
		got := ts.client(3).ConfigGet(context.Background(), "appendfsync").Val()
		if got["appendfsync"] != want {
			t.Errorf("fsync policy %v: CONFIG GET appendfsync = %q, want %q", policy, got["appendfsync"], want)
		}
	}
}

// TestCommandListsEveryCommand: COMMAND and COMMAND INFO without names
// both describe every command, in name order.
func TestCommandListsEveryCommand(t *testing.T) {
	ts := startServer(t, "")
	c := dialRaw(t, ts.addr)
	all := c.do("COMMAND")
	if info := c.do("COMMAND", "INFO"); info != all {
		t.Fatalf("COMMAND INFO = %q, COMMAND = %q", info, all)
	}
	var want []byte
	want = append(want, "*"+itoa(len(commandTable))+"\r\n"...)
	for _, n := range sortedCommandNames() {
		want = append(want, c.do("COMMAND", "INFO", n)[len("*1\r\n"):]...)
	}
	if all != string(want) {
		t.Fatalf("COMMAND = %q, want %q", all, want)
	}
}
