package server

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gannet-mq/gannet/internal/clock"
)

// startFakeClockServer starts a core and front-end that share a fake clock,
// so idle times, automatic ids and ages move only with Advance.
func startFakeClockServer(t *testing.T) (*testServer, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(time.UnixMilli(1_700_000_000_123))
	return startServerWith(t, "", func(d *Deps) { d.Clock = fake }), fake
}

// blockedClients is INFO's blocked_clients.
func blockedClients(t *testing.T, c *redis.Client) int {
	t.Helper()
	info, err := c.Info(ctx, "clients").Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "blocked_clients:"); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("blocked_clients:%s", v)
			}
			return n
		}
	}
	t.Fatalf("no blocked_clients in %q", info)
	return 0
}

// waitBlocked polls until n clients wait in a blocking read, so a test
// writes only once the read it wants to wake is waiting.
func waitBlocked(t *testing.T, ts *testServer, n int) {
	t.Helper()
	probe := redis.NewClient(&redis.Options{Addr: ts.addr, MaxRetries: -1})
	defer probe.Close() // gone after, for tests that count connections
	deadline := time.Now().Add(10 * time.Second)
	for blockedClients(t, probe) != n {
		if time.Now().After(deadline) {
			t.Fatalf("blocked_clients never reached %d", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// XADD * takes the millisecond part of its ids from the clock, and the
// sequence within one millisecond.
func TestAutoIDsFollowTheClock(t *testing.T) {
	ts, fake := startFakeClockServer(t)
	c := ts.client(2)
	ms := strconv.FormatInt(fake.Now().UnixMilli(), 10)
	for i, want := range []string{ms + "-0", ms + "-1"} {
		if id := c.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: []string{"n", itoa(i)}}).Val(); id != want {
			t.Fatalf("XADD * number %d = %q, want %q", i, id, want)
		}
	}
	fake.Advance(5 * time.Millisecond)
	later := strconv.FormatInt(fake.Now().UnixMilli(), 10) + "-0"
	if id := c.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: []string{"n", "2"}}).Val(); id != later {
		t.Fatalf("XADD * 5ms later = %q, want %q", id, later)
	}
}

// Idle times (XPENDING, XINFO CONSUMERS) and seen and delivery times
// (XINFO STREAM FULL) are the clock's, to the millisecond.
func TestIdleTimesFollowTheClock(t *testing.T) {
	ts, fake := startFakeClockServer(t)
	c := ts.client(2)
	c.XGroupCreateMkStream(ctx, "s", "g", "$")
	c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-1", Values: []string{"n", "1"}})
	c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-2", Values: []string{"n", "2"}})
	readAt := fake.Now()
	if got := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{"s", ">"}}).Val(); len(got) != 1 || ids(got[0].Messages) != "1-1 1-2" {
		t.Fatalf("XREADGROUP = %v", got)
	}
	fake.Advance(1500 * time.Millisecond)

	ext := c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "s", Group: "g", Start: "-", End: "+", Count: 10}).Val()
	if len(ext) != 2 || ext[0].Idle != 1500*time.Millisecond || ext[1].Idle != 1500*time.Millisecond {
		t.Fatalf("XPENDING after 1.5s = %+v, want idle 1500ms", ext)
	}
	if ext := c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "s", Group: "g", Idle: 1500 * time.Millisecond, Start: "-", End: "+", Count: 10}).Val(); len(ext) != 2 {
		t.Fatalf("XPENDING IDLE 1500 = %+v, want both", ext)
	}
	if ext := c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "s", Group: "g", Idle: 1501 * time.Millisecond, Start: "-", End: "+", Count: 10}).Val(); len(ext) != 0 {
		t.Fatalf("XPENDING IDLE 1501 = %+v, want none", ext)
	}
	if cons := c.XInfoConsumers(ctx, "s", "g").Val(); len(cons) != 1 || cons[0].Name != "c1" || cons[0].Idle != 1500*time.Millisecond {
		t.Fatalf("XINFO CONSUMERS after 1.5s = %+v", cons)
	}
	full := c.XInfoStreamFull(ctx, "s", 10).Val()
	if len(full.Groups) != 1 || len(full.Groups[0].Consumers) != 1 {
		t.Fatalf("XINFO STREAM FULL = %+v", full)
	}
	fc := full.Groups[0].Consumers[0]
	if !fc.SeenTime.Equal(readAt) || len(fc.Pending) != 2 || !fc.Pending[0].DeliveryTime.Equal(readAt) {
		t.Fatalf("XINFO STREAM FULL consumer = %+v, want seen and delivered at %v", fc, readAt)
	}

	// Reading again makes the consumer seen now; its entries stay idle.
	c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{"s", "0"}})
	if cons := c.XInfoConsumers(ctx, "s", "g").Val(); len(cons) != 1 || cons[0].Idle != 0 {
		t.Fatalf("XINFO CONSUMERS after reading again = %+v, want idle 0", cons)
	}
}

// CLIENT INFO's age and INFO's uptime count the clock's seconds.
func TestClientAgeAndUptimeFollowTheClock(t *testing.T) {
	ts, fake := startFakeClockServer(t)
	c := redis.NewClient(&redis.Options{Addr: ts.addr, PoolSize: 1, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	fake.Advance(90 * time.Second)
	if info := c.ClientInfo(ctx).Val(); info == nil || info.Age != 90*time.Second {
		t.Fatalf("CLIENT INFO after 90s = %+v, want age 90s", info)
	}
	fake.Advance(2 * 24 * time.Hour)
	server := c.Info(ctx, "server").Val()
	want := "uptime_in_seconds:" + strconv.Itoa(90+2*24*3600) + "\r\n"
	if !strings.Contains(server, want) || !strings.Contains(server, "uptime_in_days:2\r\n") {
		t.Fatalf("INFO server = %q, want %q and 2 days", server, want)
	}
}

// A client waiting in a blocking read has flag b in CLIENT LIST and counts
// in INFO's blocked_clients, as in Redis, until an XADD wakes it.
func TestBlockedClientsAreListed(t *testing.T) {
	ts := startServer(t, "")
	reader, probe := ts.client(2), ts.client(2)
	if n := blockedClients(t, probe); n != 0 {
		t.Fatalf("blocked_clients before any read = %d", n)
	}
	done := make(chan []redis.XStream, 1)
	go func() {
		done <- reader.XRead(ctx, &redis.XReadArgs{Streams: []string{"s", "$"}, Block: 0}).Val()
	}()
	waitBlocked(t, ts, 1)
	list := probe.ClientList(ctx).Val()
	var flagged []string
	for line := range strings.SplitSeq(list, "\n") {
		if strings.Contains(line, " flags=b ") {
			flagged = append(flagged, line)
		}
	}
	if len(flagged) != 1 || !strings.Contains(flagged[0], " cmd=xread ") {
		t.Fatalf("CLIENT LIST with one blocked client:\n%s", list)
	}
	probe.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-1", Values: []string{"n", "1"}})
	if got := <-done; len(got) != 1 || ids(got[0].Messages) != "1-1" {
		t.Fatalf("woken XREAD = %v", got)
	}
	if n := blockedClients(t, probe); n != 0 {
		t.Fatalf("blocked_clients after the read was served = %d", n)
	}
}
