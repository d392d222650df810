package server

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/testenv"
)

// TestArticleSampleWithRedisPy runs the article's redis-py sample twice:
// the second run's xgroup_create gets BUSYGROUP, which the sample swallows.
func TestArticleSampleWithRedisPy(t *testing.T) {
	testenv.RequirePython(t, "redis")
	ts := startServer(t, "")
	host, port, _ := strings.Cut(ts.addr, ":")
	script, _ := filepath.Abs("testdata/order_stream.py")
	for run := 0; run < 2; run++ {
		out := testenv.RunPython(t, 30*time.Second, script, "GANNET_HOST="+host, "GANNET_PORT="+port)
		if !strings.Contains(out, "processed {'orderId': '12345', 'amount': '100.00'}") || !strings.Contains(out, "ok") {
			t.Fatalf("run %d printed %q", run, out)
		}
	}
	if n := ts.client(2).XLen(ctx, "order-stream").Val(); n != 2 {
		t.Fatalf("XLEN = %d after two runs", n)
	}
}

func TestRedisCLI(t *testing.T) {
	cli := testenv.RequireTool(t, "redis-cli")
	ts := startServer(t, "")
	host, port, _ := strings.Cut(ts.addr, ":")
	run := func(args ...string) string {
		return strings.TrimSpace(testenv.Run(t, 20*time.Second, nil, cli, append([]string{"-h", host, "-p", port}, args...)...))
	}
	if out := run("PING"); out != "PONG" {
		t.Fatalf("PING: %q", out)
	}
	if out := run("XADD", "cli", "1-1", "orderId", "7"); out != "1-1" {
		t.Fatalf("XADD: %q", out)
	}
	if out := run("XGROUP", "CREATE", "cli", "g", "0"); out != "OK" {
		t.Fatalf("XGROUP CREATE: %q", out)
	}
	if out := run("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "cli", ">"); out != "cli\n1-1\norderId\n7" {
		t.Fatalf("XREADGROUP: %q", out)
	}
	if out := run("XACK", "cli", "g", "1-1"); out != "1" {
		t.Fatalf("XACK: %q", out)
	}
	if out := run("-3", "--no-raw", "XRANGE", "cli", "-", "+"); out != "1) 1) \"1-1\"\n   2) 1) \"orderId\"\n      2) \"7\"" {
		t.Fatalf("RESP3 XRANGE: %q", out)
	}
	if out := run("--no-raw", "XLEN", "cli"); out != "(integer) 1" {
		t.Fatalf("XLEN: %q", out)
	}
	if out := run("INFO", "server"); !strings.Contains(out, "redis_version:"+RedisVersion) {
		t.Fatalf("INFO: %q", out)
	}
}
