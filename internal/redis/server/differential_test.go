package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/testenv"
)

// rawClient sends commands and returns each reply's bytes exactly as sent.
type rawClient struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc, r: bufio.NewReader(nc)}
}

func encodeCommand(args ...string) []byte {
	b := []byte("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b = append(b, "$"+strconv.Itoa(len(a))+"\r\n"+a+"\r\n"...)
	}
	return b
}

func (c *rawClient) do(args ...string) string {
	c.t.Helper()
	c.send(encodeCommand(args...))
	return c.reply()
}

func (c *rawClient) send(b []byte) {
	c.t.Helper()
	c.nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// reply reads one whole reply, aggregates included.
func (c *rawClient) reply() string {
	c.t.Helper()
	var buf bytes.Buffer
	if err := readReply(c.r, &buf); err != nil {
		c.t.Fatalf("reading reply: %v (so far %q)", err, buf.String())
	}
	return buf.String()
}

func readReply(r *bufio.Reader, out *bytes.Buffer) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	out.WriteString(line)
	body := strings.TrimSuffix(line[1:], "\r\n")
	switch line[0] {
	case '+', '-', ':', '_', '#', ',', '(':
		return nil
	case '$', '=', '!':
		n, _ := strconv.Atoi(body)
		if n < 0 {
			return nil
		}
		data := make([]byte, n+2)
		if _, err := io.ReadFull(r, data); err != nil {
			return err
		}
		out.Write(data)
		return nil
	case '*', '~', '>', '%':
		n, _ := strconv.Atoi(body)
		if line[0] == '%' {
			n *= 2
		}
		for i := 0; i < n; i++ {
			if err := readReply(r, out); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown reply type %q", line)
}

// startRealRedis runs Debian's redis-server on a random loopback port in a
// temp dir, for differential tests.
func startRealRedis(t *testing.T) string {
	t.Helper()
	bin := testenv.RequireTool(t, "redis-server")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir, "--logfile", filepath.Join(dir, "log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for i := 0; i < 100; i++ {
		if nc, err := net.Dial("tcp", addr); err == nil {
			nc.Close()
			return addr
		}
		time.Sleep(20 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "log"))
	t.Fatalf("redis-server did not start: %s", log)
	return ""
}

// differentialScript is run against redis-server and Gannet; every reply
// must match byte for byte. Ids are explicit so that replies are
// deterministic; idle times are never asked for.
var differentialScript = [][]string{
	{"PING"}, {"PING", "hello"}, {"ECHO", "x"}, {"PING", "a", "b"},
	{"SELECT", "0"}, {"SELECT", "x"},
	{"NOSUCH", "a", "b"}, {"xadd"}, {"XLEN"},
	{"XADD", "s", "1-1", "a", "1"}, {"XADD", "s", "1-1", "a", "1"}, {"XADD", "s", "0-0", "a", "1"},
	{"XADD", "s", "1-*", "b", "2"}, {"XADD", "s", "2", "c", "3", "d", "4"}, {"XADD", "s", "x", "a", "1"},
	{"XADD", "s", "*", "a"}, {"XADD", "s", "MAXLEN", "-1", "*", "a", "b"}, {"XADD", "s", "MAXLEN", "x", "*", "a", "b"},
	{"XADD", "s", "LIMIT", "5", "*", "a", "b"}, {"XADD", "s", "MAXLEN", "5", "LIMIT", "5", "*", "a", "b"},
	{"XADD", "s", "NOMKSTREAM", "3-0", "e", "5"}, {"XADD", "missing", "NOMKSTREAM", "*", "a", "b"},
	{"XADD", "s", "-", "a", "b"}, {"XADD", "s", "+", "a", "b"},
	{"XLEN", "s"}, {"XLEN", "missing"}, {"EXISTS", "s", "missing", "s"}, {"TYPE", "s"}, {"TYPE", "missing"},
	{"XRANGE", "s", "-", "+"}, {"XRANGE", "s", "(1-1", "+"}, {"XRANGE", "s", "-", "(2-0"}, {"XRANGE", "s", "1", "1"},
	{"XRANGE", "s", "-", "+", "COUNT", "2"}, {"XRANGE", "s", "-", "+", "COUNT", "0"}, {"XRANGE", "s", "-", "+", "COUNT", "-1"},
	{"XRANGE", "s", "-", "+", "COUNT"}, {"XRANGE", "s", "-", "+", "FOO", "1"}, {"XRANGE", "s", "x", "+"},
	{"XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"}, {"XRANGE", "s", "-", "(0-0"},
	{"XRANGE", "s", "(18446744073709551615-18446744073709551615", "x"}, {"XREVRANGE", "s", "x", "(18446744073709551615-18446744073709551615"},
	{"XRANGE", "s", "3", "1"}, {"XRANGE", "missing", "-", "+"},
	{"XREVRANGE", "s", "+", "-"}, {"XREVRANGE", "s", "+", "-", "COUNT", "1"}, {"XREVRANGE", "s", "(3-0", "(1-1"},
	{"XREAD", "STREAMS", "s", "0"}, {"XREAD", "COUNT", "1", "STREAMS", "s", "1-1"}, {"XREAD", "STREAMS", "s", "missing", "0", "0"},
	{"XREAD", "STREAMS", "s", "3-0"}, {"XREAD", "STREAMS", "s"}, {"XREAD", "STREAMS", "s", "t", "0"},
	{"XREAD", "BLOCK", "-1", "STREAMS", "s", "0"}, {"XREAD", "BLOCK", "x", "STREAMS", "s", "0"},
	{"XREAD", "STREAMS", "s", ">"}, {"XREAD", "GROUP", "g", "c", "STREAMS", "s", "0"}, {"XREAD", "FOO", "STREAMS", "s", "0"},
	{"XREAD", "BLOCK", "10", "STREAMS", "s", "$"},
	{"XGROUP", "CREATE", "missing", "g", "0"}, {"XGROUP", "CREATE", "s", "g", "0"}, {"XGROUP", "CREATE", "s", "g", "0"},
	{"XGROUP", "CREATE", "s", "g2", "1-1"}, {"XGROUP", "CREATE", "s", "g3", "$"}, {"XGROUP", "CREATE", "s", "g4", "x"},
	{"XGROUP", "CREATE", "mk", "g", "$", "MKSTREAM"}, {"XGROUP", "CREATE", "s", "g5", "0", "BOGUS"},
	{"XGROUP", "FOO"}, {"XGROUP", "CREATE", "s"}, {"XGROUP", "DESTROY", "s", "g3"}, {"XGROUP", "DESTROY", "s", "g3"},
	{"XGROUP", "CREATECONSUMER", "s", "g", "c0"}, {"XGROUP", "CREATECONSUMER", "s", "g", "c0"},
	{"XGROUP", "CREATECONSUMER", "s", "nogroup", "c0"},
	{"XREADGROUP", "GROUP", "g", "c1", "COUNT", "2", "STREAMS", "s", ">"},
	{"XREADGROUP", "GROUP", "g2", "c1", "STREAMS", "s", ">"},
	{"XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"}, {"XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "1-1"},
	{"XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", "0"}, {"XREADGROUP", "GROUP", "nope", "c", "STREAMS", "s", ">"},
	{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "missing", ">"}, {"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$"},
	{"XREADGROUP", "STREAMS", "s", ">"}, {"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s"},
	{"XREADGROUP", "GROUP", "g", "c3", "NOACK", "STREAMS", "s", ">"},
	{"XREADGROUP", "GROUP", "g", "c3", "STREAMS", "s", ">"},
	{"XPENDING", "s", "g"}, {"XPENDING", "s", "g", "-", "+", "10", "c9"}, {"XPENDING", "s", "nope"},
	{"XPENDING", "s", "g", "-", "+"}, {"XPENDING", "s", "g", "x", "+", "10"}, {"XPENDING", "s", "g", "-", "+", "x"},
	{"XPENDING", "s", "g3"}, {"XPENDING", "missing", "g"},
	{"XACK", "s", "g", "1-1", "1-1", "9-9"}, {"XACK", "s", "g", "x"}, {"XACK", "s", "nope", "1-1"}, {"XACK", "missing", "g", "1-1"},
	{"XPENDING", "s", "g"},
	{"XCLAIM", "s", "g", "c5", "3600000", "1-2"}, {"XCLAIM", "s", "g", "c5", "x", "1-2"},
	{"XCLAIM", "s", "g", "c5", "0", "1-2", "BOGUS"}, {"XCLAIM", "s", "g", "c5", "0", "1-2", "IDLE", "x"},
	{"XCLAIM", "s", "g", "c5", "0", "1-2", "RETRYCOUNT", "x"}, {"XCLAIM", "s", "g", "c5", "0", "1-2", "TIME", "x"},
	{"XCLAIM", "s", "nope", "c5", "0", "1-2"}, {"XCLAIM", "s", "g", "c5", "0", "1-2", "JUSTID"},
	{"XAUTOCLAIM", "s", "g", "c6", "3600000", "0"}, {"XAUTOCLAIM", "s", "g", "c6", "0", "0", "COUNT", "0"},
	{"XAUTOCLAIM", "s", "g", "c6", "0", "0", "COUNT", "x"}, {"XAUTOCLAIM", "s", "g", "c6", "0", "0", "FOO"},
	{"XAUTOCLAIM", "s", "g", "c6", "0", "0", "JUSTID"},
	{"XGROUP", "DELCONSUMER", "s", "g", "c6"}, {"XPENDING", "s", "g"},
	{"XGROUP", "SETID", "s", "g", "0"}, {"XGROUP", "SETID", "s", "nope", "0"}, {"XGROUP", "SETID", "s", "g", "x"},
	{"XREADGROUP", "GROUP", "g", "c7", "COUNT", "1", "STREAMS", "s", ">"},
	{"XTRIM", "s", "MAXLEN", "3"}, {"XTRIM", "s", "MINID", "2-0"}, {"XTRIM", "s", "LIMIT", "1"}, {"XTRIM", "s"},
	{"XTRIM", "s", "MAXLEN", "x"}, {"XTRIM", "missing", "MAXLEN", "1"},
	{"XRANGE", "s", "-", "+"},
	{"XSETID", "s", "1-0"}, {"XSETID", "s", "x"}, {"XSETID", "missing", "5-0"}, {"XSETID", "s", "10-0"},
	{"XADD", "s", "9-0", "a", "b"}, {"XADD", "s", "10-*", "a", "b"},
	{"XREADGROUP", "GROUP", "g", "c7", "STREAMS", "s", "0"},
	{"XREADGROUP", "GROUP", "g", "c8", "COUNT", "1", "STREAMS", "s", ">"},
	{"XDEL", "s", "9-0", "x"}, {"XDEL", "s", "2-0", "77-0"}, {"XDEL", "s", "2-0"}, {"XDEL", "missing", "1-1"},
	{"XLEN", "s"}, {"XRANGE", "s", "-", "+"}, {"XREVRANGE", "s", "+", "-"}, {"XREAD", "STREAMS", "s", "0"},
	{"XREADGROUP", "GROUP", "g", "c8", "STREAMS", "s", "0"}, {"XPENDING", "s", "g"},
	{"XREADGROUP", "GROUP", "g", "c9", "STREAMS", "s", ">"},
	{"XCLAIM", "s", "g", "c9", "0", "2-0", "JUSTID"}, {"XPENDING", "s", "g"},
	{"XADD", "s", "11-0", "f", "1"}, {"XADD", "s", "12-0", "f", "2"},
	{"XCLAIM", "s", "g", "c9", "0", "3-0", "JUSTID", "LASTID", "11-0"},
	{"XREADGROUP", "GROUP", "g", "c9", "STREAMS", "s", ">"},
	{"XINFO", "FOO"}, {"XINFO", "STREAM", "missing"}, {"XINFO", "GROUPS", "missing"}, {"XINFO", "CONSUMERS", "s", "nope"},
	{"DEL", "mk", "missing"}, {"DBSIZE"}, {"KEYS", "*"}, {"KEYS", "m*"}, {"SCAN", "0"}, {"SCAN", "x"},
	{"CLIENT", "SETNAME", "my name"}, {"CLIENT", "SETNAME", "me"}, {"CLIENT", "GETNAME"}, {"CLIENT", "FOO"},
	{"AUTH", "pw"}, {"HELLO", "4"}, {"HELLO", "x"},
	{"CONFIG", "GET", "stream-node-max-entries"}, // a glob's order is Redis' hash order: not compared
	{"FLUSHALL"}, {"DBSIZE"}, {"XLEN", "s"},
	{"HELLO", "3", "SETNAME", "x"},
	{"XADD", "r3", "1-1", "a", "1"}, {"XREAD", "STREAMS", "r3", "0"}, {"XREAD", "STREAMS", "r3", "1-1"},
	{"XGROUP", "CREATE", "r3", "g", "0"}, {"XREADGROUP", "GROUP", "g", "c", "STREAMS", "r3", ">"},
	{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "r3", ">"}, {"XPENDING", "r3", "g"},
	{"XACK", "r3", "g", "1-1"}, {"XPENDING", "r3", "g"}, {"CLIENT", "GETNAME"}, {"PING"},
	{"QUIT"},
}

// comparable drops what cannot match: HELLO's server id.
func comparableReply(cmd []string, reply string) string {
	if strings.EqualFold(cmd[0], "hello") && !strings.HasPrefix(reply, "-") {
		return "<hello map>"
	}
	return reply
}

func TestDifferentialAgainstRedis(t *testing.T) {
	real := startRealRedis(t)
	ts := startServer(t, "")
	rc, gc := dialRaw(t, real), dialRaw(t, ts.addr)
	var diffs []string
	for _, cmd := range differentialScript {
		want := comparableReply(cmd, rc.do(cmd...))
		got := comparableReply(cmd, gc.do(cmd...))
		if got != want {
			diffs = append(diffs, fmt.Sprintf("%q:\n  redis:  %q\n  gannet: %q", cmd, want, got))
		}
	}
	if len(diffs) > 0 {
		t.Fatalf("%d replies differ:\n%s", len(diffs), strings.Join(diffs, "\n"))
	}
}
