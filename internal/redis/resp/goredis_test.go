package resp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// testServer is a miniature Redis built from this package's Reader and
// Append functions. It records every command it receives so tests can check the argv
// that go-redis actually put on the wire.
type testServer struct {
	listener net.Listener
	mu       sync.Mutex
	received [][]string
	wg       sync.WaitGroup
}

func startTestServer(t *testing.T) *testServer {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback networking: %v", err)
	}
	s := &testServer{listener: listener}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(conn)
			}()
		}
	}()
	t.Cleanup(func() {
		listener.Close()
		s.wg.Wait()
	})
	return s
}

func (s *testServer) commands(name string) [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var matching [][]string
	for _, argv := range s.received {
		if strings.EqualFold(argv[0], name) {
			matching = append(matching, argv)
		}
	}
	return matching
}

func (s *testServer) serve(conn net.Conn) {
	defer conn.Close()
	r := NewReader(conn, Limits{})
	version := RESP2
	var argv [][]byte
	var reply []byte
	for {
		var err error
		argv, err = r.ReadCommand(argv)
		var pe *ProtocolError
		if errors.As(err, &pe) {
			conn.Write(AppendError(reply, pe.Reply()))
			return
		}
		if err != nil {
			return
		}
		command := make([]string, len(argv))
		for i, arg := range argv {
			command[i] = string(arg)
		}
		s.mu.Lock()
		s.received = append(s.received, command)
		s.mu.Unlock()
		reply = s.reply(reply, &version, command)
		// Replies to a pipeline go out together, once its last command is read.
		if r.Buffered() == 0 {
			if _, err := conn.Write(reply); err != nil {
				return
			}
			reply = reply[:0]
		}
	}
}

// reply appends the reply to argv in the connection's protocol version.
func (s *testServer) reply(b []byte, v *Version, argv []string) []byte {
	switch strings.ToUpper(argv[0]) {
	case "HELLO":
		if len(argv) > 1 {
			switch argv[1] {
			case "2":
				*v = RESP2
			case "3":
				*v = RESP3
			default:
				return AppendError(b, "NOPROTO unsupported protocol version")
			}
		}
		b = AppendMapHeader(b, *v, 7)
		b = AppendBulkString(b, "server")
		b = AppendBulkString(b, "gannet")
		b = AppendBulkString(b, "version")
		b = AppendBulkString(b, "7.2.0")
		b = AppendBulkString(b, "proto")
		b = AppendInt(b, int64(*v))
		b = AppendBulkString(b, "id")
		b = AppendInt(b, 1)
		b = AppendBulkString(b, "mode")
		b = AppendBulkString(b, "standalone")
		b = AppendBulkString(b, "role")
		b = AppendBulkString(b, "master")
		b = AppendBulkString(b, "modules")
		b = AppendArrayHeader(b, 0)
	case "CLIENT":
		b = AppendSimple(b, "OK")
	case "PING":
		if len(argv) > 1 {
			b = AppendBulkString(b, argv[1])
		} else {
			b = AppendSimple(b, "PONG")
		}
	case "ECHO":
		b = AppendBulkString(b, argv[1])
	case "GET":
		if argv[1] == "missing" {
			b = AppendNull(b, *v)
		} else {
			b = AppendBulkString(b, "value of "+argv[1])
		}
	case "HGETALL":
		b = AppendMapHeader(b, *v, 2)
		b = AppendBulkString(b, "f1")
		b = AppendBulkString(b, "v1")
		b = AppendBulkString(b, "f2")
		b = AppendBulkString(b, "v2")
	case "ZSCORE":
		b = AppendDouble(b, *v, 1.5)
	case "SMEMBERS":
		b = AppendSetHeader(b, *v, 2)
		b = AppendBulkString(b, "a")
		b = AppendBulkString(b, "b")
	case "ISMEMBER":
		b = AppendBool(b, *v, true)
	case "INFO":
		b = AppendVerbatim(b, *v, "txt", []byte("# Server\r\nredis_version:7.2.0\r\n"))
	case "XADD":
		b = AppendBulkString(b, "1700000000000-0")
	case "XREAD":
		b = AppendNullArray(b, *v)
	case "XGROUP":
		b = AppendError(b, "NOGROUP No such key '"+argv[2]+"' or consumer group")
	default:
		b = AppendError(b, fmt.Sprintf("ERR unknown command '%s'", argv[0]))
	}
	return b
}

func TestGoRedisInteroperates(t *testing.T) {
	for _, protocol := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", protocol), func(t *testing.T) {
			server := startTestServer(t)
			client := redis.NewClient(&redis.Options{
				Addr:                     server.listener.Addr().String(),
				Protocol:                 protocol,
				MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
			})
			defer client.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			if got, err := client.Ping(ctx).Result(); err != nil || got != "PONG" {
				t.Fatalf("PING: %q, %v", got, err)
			}
			if hello := server.commands("HELLO"); len(hello) != 1 || !slices.Equal(hello[0], []string{"hello", fmt.Sprint(protocol)}) {
				t.Fatalf("handshake sent %q", hello)
			}
			if setinfo := server.commands("CLIENT"); len(setinfo) != 2 || setinfo[0][1] != "setinfo" {
				t.Fatalf("pipelined CLIENT SETINFO arrived as %q", setinfo)
			}
			binary := "line\r\nbreak \x00 \"quoted\" \xff"
			if got, err := client.Echo(ctx, binary).Result(); err != nil || got != binary {
				t.Fatalf("ECHO: %q, %v", got, err)
			}
			if _, err := client.Get(ctx, "missing").Result(); err != redis.Nil {
				t.Fatalf("GET of a missing key: %v, want redis.Nil", err)
			}
			if got, err := client.Get(ctx, "k").Result(); err != nil || got != "value of k" {
				t.Fatalf("GET: %q, %v", got, err)
			}
			hash, err := client.HGetAll(ctx, "h").Result()
			if err != nil || len(hash) != 2 || hash["f1"] != "v1" || hash["f2"] != "v2" {
				t.Fatalf("HGETALL: %v, %v", hash, err)
			}
			if got, err := client.ZScore(ctx, "z", "m").Result(); err != nil || got != 1.5 {
				t.Fatalf("ZSCORE: %v, %v", got, err)
			}
			if got, err := client.SMembers(ctx, "s").Result(); err != nil || !slices.Equal(got, []string{"a", "b"}) {
				t.Fatalf("SMEMBERS: %v, %v", got, err)
			}
			// RESP2 has no boolean type: Redis sends the integer 1 instead.
			wantBool := any(true)
			if protocol == 2 {
				wantBool = int64(1)
			}
			if got, err := client.Do(ctx, "ISMEMBER", "s", "a").Result(); err != nil || got != wantBool {
				t.Fatalf("boolean: %#v, %v", got, err)
			}
			if got, err := client.Info(ctx).Result(); err != nil || !strings.Contains(got, "redis_version:7.2.0") || strings.HasPrefix(got, "txt:") {
				t.Fatalf("INFO: %q, %v", got, err)
			}
			id, err := client.XAdd(ctx, &redis.XAddArgs{Stream: "orders", Values: []string{"item", "book", "qty", "2"}}).Result()
			if err != nil || id != "1700000000000-0" {
				t.Fatalf("XADD: %q, %v", id, err)
			}
			if xadd := server.commands("XADD"); len(xadd) != 1 || !slices.Equal(xadd[0], []string{"xadd", "orders", "*", "item", "book", "qty", "2"}) {
				t.Fatalf("XADD arrived as %q", xadd)
			}
			if _, err := client.XRead(ctx, &redis.XReadArgs{Streams: []string{"orders", "$"}, Count: 1}).Result(); err != redis.Nil {
				t.Fatalf("XREAD null reply: %v, want redis.Nil", err)
			}
			err = client.XGroupCreate(ctx, "orders", "workers", "$").Err()
			if err == nil || err.Error() != "NOGROUP No such key 'orders' or consumer group" {
				t.Fatalf("error reply: %v", err)
			}

			pipe := client.Pipeline()
			echoes := make([]*redis.StringCmd, 200)
			for i := range echoes {
				echoes[i] = pipe.Echo(ctx, fmt.Sprintf("message %d", i))
			}
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatalf("pipeline: %v", err)
			}
			for i, echo := range echoes {
				if echo.Val() != fmt.Sprintf("message %d", i) {
					t.Fatalf("pipelined reply %d is %q", i, echo.Val())
				}
			}
		})
	}
}

func TestProtocolErrorReachesClient(t *testing.T) {
	server := startTestServer(t)
	conn, err := net.Dial("tcp", server.listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("PING\r\n*1\r\n$9999999999\r\n")); err != nil {
		t.Fatal(err)
	}
	var reply []byte
	buf := make([]byte, 256)
	for {
		n, err := conn.Read(buf)
		reply = append(reply, buf[:n]...)
		if err != nil {
			break // the server closed the connection after the error, as Redis does
		}
	}
	if want := "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"; string(reply) != want {
		t.Fatalf("got %q, want %q", reply, want)
	}
}
