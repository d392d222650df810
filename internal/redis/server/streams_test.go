package server

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var ctx = context.Background()

func mustErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func ids(msgs []redis.XMessage) string {
	var s []string
	for _, m := range msgs {
		s = append(s, m.ID)
	}
	return strings.Join(s, " ")
}

func TestXAddIDsAndErrors(t *testing.T) {
	ts := startServer(t, "")
	for _, proto := range []int{2, 3} {
		c := ts.client(proto)
		c.FlushAll(ctx)
		if id := c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-1", Values: []string{"a", "1"}}).Val(); id != "1-1" {
			t.Fatalf("explicit id = %q", id)
		}
		if id := c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-*", Values: []string{"a", "2"}}).Val(); id != "1-2" {
			t.Fatalf("1-* = %q", id)
		}
		if id := c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "5", Values: []string{"a", "3"}}).Val(); id != "5-0" {
			t.Fatalf("partial id = %q", id)
		}
		auto := c.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: map[string]any{"b": "4"}}).Val()
		if ms, _, _ := strings.Cut(auto, "-"); len(ms) < 13 {
			t.Fatalf("auto id = %q", auto)
		}
		mustErr(t, c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "2-0", Values: []string{"a", "1"}}).Err(),
			"ERR The ID specified in XADD is equal or smaller than the target stream top item")
		mustErr(t, c.XAdd(ctx, &redis.XAddArgs{Stream: "t", ID: "0-0", Values: []string{"a", "1"}}).Err(),
			"ERR The ID specified in XADD must be greater than 0-0")
		mustErr(t, c.XAdd(ctx, &redis.XAddArgs{Stream: "t", ID: "x-1", Values: []string{"a", "1"}}).Err(),
			"ERR Invalid stream ID specified as stream command argument")
		mustErr(t, c.Do(ctx, "XADD", "s", "*", "a").Err(), "ERR wrong number of arguments for 'xadd' command")
		mustErr(t, c.Do(ctx, "XADD", "s", "MAXLEN", "-1", "*", "a", "b").Err(), "ERR The MAXLEN argument must be >= 0.")
		mustErr(t, c.Do(ctx, "XADD", "s", "MAXLEN", "5", "LIMIT", "5", "*", "a", "b").Err(),
			"ERR syntax error, LIMIT cannot be used without the special ~ option")
		if err := c.XAdd(ctx, &redis.XAddArgs{Stream: "nope", NoMkStream: true, Values: []string{"a", "1"}}).Err(); err != redis.Nil {
			t.Fatalf("NOMKSTREAM on a missing stream = %v, want nil", err)
		}
		if n := c.Exists(ctx, "nope").Val(); n != 0 {
			t.Fatal("NOMKSTREAM created the stream")
		}
		if n := c.XLen(ctx, "s").Val(); n != 4 {
			t.Fatalf("XLEN = %d", n)
		}
		msgs := c.XRange(ctx, "s", "-", "+").Val()
		if ids(msgs) != "1-1 1-2 5-0 "+auto || msgs[3].Values["b"] != "4" {
			t.Fatalf("XRANGE = %v", msgs)
		}
		if got := ids(c.XRange(ctx, "s", "(1-1", "5").Val()); got != "1-2 5-0" {
			t.Fatalf("exclusive XRANGE = %s", got)
		}
		if got := ids(c.XRangeN(ctx, "s", "1", "+", 2).Val()); got != "1-1 1-2" {
			t.Fatalf("XRANGE COUNT = %s", got)
		}
		if got := ids(c.XRevRange(ctx, "s", "+", "-").Val()); got != auto+" 5-0 1-2 1-1" {
			t.Fatalf("XREVRANGE = %s", got)
		}
		if got := ids(c.XRevRangeN(ctx, "s", "(5-0", "-", 1).Val()); got != "1-2" {
			t.Fatalf("XREVRANGE exclusive COUNT = %s", got)
		}
		mustErr(t, c.XRange(ctx, "s", "(18446744073709551615-18446744073709551615", "+").Err(), "ERR invalid start ID for the interval")
		if typ := c.Type(ctx, "s").Val(); typ != "stream" {
			t.Fatalf("TYPE = %s", typ)
		}
	}
}

func TestTrimming(t *testing.T) {
	ts := startServer(t, "")
	c := ts.client(2)
	for i := 1; i <= 10; i++ {
		c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-" + itoa(i), Values: []string{"n", itoa(i)}})
	}
	if n := c.XTrimMaxLen(ctx, "s", 7).Val(); n != 3 {
		t.Fatalf("XTRIM MAXLEN removed %d", n)
	}
	if n := c.XTrimMinIDApprox(ctx, "s", "1-6", 0).Val(); n != 2 {
		t.Fatalf("XTRIM MINID ~ removed %d", n)
	}
	if n := c.XTrimMaxLenApprox(ctx, "s", 0, 2).Val(); n != 2 {
		t.Fatalf("XTRIM MAXLEN ~ LIMIT 2 removed %d", n)
	}
	if got := ids(c.XRange(ctx, "s", "-", "+").Val()); got != "1-8 1-9 1-10" {
		t.Fatalf("after trims: %s", got)
	}
	c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-11", MaxLen: 2, Values: []string{"n", "11"}})
	if got := ids(c.XRange(ctx, "s", "-", "+").Val()); got != "1-10 1-11" {
		t.Fatalf("after XADD MAXLEN: %s", got)
	}
	c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "2-0", MinID: "1-11", Approx: true, Values: []string{"n", "12"}})
	if got := ids(c.XRange(ctx, "s", "-", "+").Val()); got != "1-11 2-0" {
		t.Fatalf("after XADD MINID: %s", got)
	}
	mustErr(t, c.Do(ctx, "XTRIM", "s", "LIMIT", "1").Err(), "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
}

func TestXDel(t *testing.T) {
	ts := startServer(t, "")
	c := ts.client(2)
	c.XGroupCreateMkStream(ctx, "s", "g", "0")
	for i := 1; i <= 5; i++ {
		c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-" + itoa(i), Values: []string{"n", itoa(i)}})
	}
	c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{"s", ">"}, Count: 1})
	if n := c.XDel(ctx, "s", "1-1", "1-3", "1-3", "7-7").Val(); n != 2 {
		t.Fatalf("XDEL = %d", n)
	}
	if n := c.XLen(ctx, "s").Val(); n != 3 {
		t.Fatalf("XLEN after XDEL = %d", n)
	}
	if got := ids(c.XRange(ctx, "s", "-", "+").Val()); got != "1-2 1-4 1-5" {
		t.Fatalf("XRANGE after XDEL = %s", got)
	}
	if got := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{"s", ">"}}).Val(); ids(got[0].Messages) != "1-2 1-4 1-5" {
		t.Fatalf("XREADGROUP after XDEL = %v", got)
	}
	if groups := c.XInfoGroups(ctx, "s").Val(); len(groups) != 1 {
		t.Fatalf("the tombstone group shows: %+v", groups)
	}
	for _, st := range ts.broker.Stats().Streams {
		if len(st.Groups) != 1 {
			t.Fatalf("the tombstone group shows in the metrics: %+v", st.Groups)
		}
	}
	// Deletions survive a restart.
	dir := ts.dir
	c.Close()
	ts.stop()
	c2 := startServer(t, dir).client(2)
	if got := ids(c2.XRange(ctx, "s", "-", "+").Val()); got != "1-2 1-4 1-5" {
		t.Fatalf("XRANGE after restart = %s", got)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestXReadBlocking(t *testing.T) {
	ts := startServer(t, "")
	for _, proto := range []int{2, 3} {
		c, w := ts.client(proto), ts.client(proto)
		c.FlushAll(ctx)
		w.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-1", Values: []string{"a", "1"}})
		got := c.XRead(ctx, &redis.XReadArgs{Streams: []string{"s", "0"}, Count: 10}).Val()
		if len(got) != 1 || ids(got[0].Messages) != "1-1" {
			t.Fatalf("XREAD = %v", got)
		}
		// Timeout: nil reply after about the block time.
		start := time.Now()
		err := c.XRead(ctx, &redis.XReadArgs{Streams: []string{"s", "$"}, Block: 100 * time.Millisecond}).Err()
		if err != redis.Nil || time.Since(start) < 90*time.Millisecond {
			t.Fatalf("XREAD BLOCK timeout: %v after %v", err, time.Since(start))
		}
		// BLOCK 0 wakes on XADD; so does a wait on a stream not yet created.
		for _, key := range []string{"s", "later"} {
			done := make(chan []redis.XStream, 1)
			go func() {
				done <- c.XRead(ctx, &redis.XReadArgs{Streams: []string{key, "$"}, Block: 0}).Val()
			}()
			waitBlocked(t, ts, 1)
			w.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: "2-1", Values: []string{"b", "2"}})
			select {
			case got := <-done:
				if len(got) != 1 || got[0].Stream != key || ids(got[0].Messages) != "2-1" {
					t.Fatalf("woken XREAD = %v", got)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("XREAD BLOCK 0 on %s (RESP%d) did not wake on XADD", key, proto)
			}
		}
		// Several streams: only those with entries are in the reply.
		got = c.XRead(ctx, &redis.XReadArgs{Streams: []string{"s", "later", "1-1", "2-1"}}).Val()
		if len(got) != 1 || got[0].Stream != "s" || ids(got[0].Messages) != "2-1" {
			t.Fatalf("multi-stream XREAD = %v", got)
		}
		mustErr(t, c.Do(ctx, "XREAD", "STREAMS", "s").Err(),
			"ERR wrong number of arguments for 'xread' command")
		mustErr(t, c.Do(ctx, "XREAD", "STREAMS", "s", "t", "0").Err(),
			"ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
		mustErr(t, c.Do(ctx, "XREAD", "BLOCK", "-1", "STREAMS", "s", "0").Err(), "ERR timeout is negative")
		mustErr(t, c.Do(ctx, "XREAD", "STREAMS", "s", ">").Err(),
			"ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
	}
}

// TestBlockedReadsWakeOnAnyStream: XREAD and XREADGROUP blocked on several
// streams wake on an XADD to any of them, not only the first.
func TestBlockedReadsWakeOnAnyStream(t *testing.T) {
	ts := startServer(t, "")
	c, w := ts.client(2), ts.client(2)
	for _, key := range []string{"a", "b"} {
		if err := c.XGroupCreateMkStream(ctx, key, "g", "$").Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i, read := range []func() []redis.XStream{
		func() []redis.XStream {
			return c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c",
				Streams: []string{"a", "b", ">", ">"}, Block: 0}).Val()
		},
		func() []redis.XStream {
			return c.XRead(ctx, &redis.XReadArgs{Streams: []string{"a", "b", "$", "$"}, Block: 0}).Val()
		},
	} {
		done := make(chan []redis.XStream, 1)
		go func() { done <- read() }()
		waitBlocked(t, ts, 1)
		id := "1-" + itoa(i+1)
		w.XAdd(ctx, &redis.XAddArgs{Stream: "b", ID: id, Values: []string{"n", itoa(i)}})
		select {
		case got := <-done:
			if len(got) != 1 || got[0].Stream != "b" || ids(got[0].Messages) != id {
				t.Fatalf("read %d woken by XADD to b = %v", i, got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("read %d blocked on a and b did not wake on XADD to b", i)
		}
	}
}

func TestBlockedReadEndsWhenClientCloses(t *testing.T) {
	ts := startServer(t, "")
	c := redis.NewClient(&redis.Options{Addr: ts.addr, MaxRetries: -1})
	read := make(chan struct{})
	go func() {
		defer close(read)
		c.XRead(ctx, &redis.XReadArgs{Streams: []string{"s", "$"}, Block: 0})
	}()
	waitBlocked(t, ts, 1)
	c.Close()
	<-read
	deadline := time.Now().Add(5 * time.Second)
	for len(ts.srv.clientList()) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the blocked connection outlived its client")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConsumerGroups(t *testing.T) {
	ts := startServer(t, "")
	for _, proto := range []int{2, 3} {
		c := ts.client(proto)
		c.FlushAll(ctx)
		mustErr(t, c.XGroupCreate(ctx, "s", "g", "0").Err(),
			"ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
		if err := c.XGroupCreateMkStream(ctx, "s", "g", "0").Err(); err != nil {
			t.Fatal(err)
		}
		mustErr(t, c.XGroupCreate(ctx, "s", "g", "0").Err(), "BUSYGROUP Consumer Group name already exists")
		for i := 1; i <= 5; i++ {
			c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-" + itoa(i), Values: []string{"n", itoa(i)}})
		}
		c.XGroupCreate(ctx, "s", "late", "1-3")
		c.Do(ctx, "XGROUP", "CREATE", "s", "withread", "$", "ENTRIESREAD", "5")

		got := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{"s", ">"}, Count: 2}).Val()
		if len(got) != 1 || ids(got[0].Messages) != "1-1 1-2" || got[0].Messages[1].Values["n"] != "2" {
			t.Fatalf("XREADGROUP > = %v", got)
		}
		got = c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c2", Streams: []string{"s", ">"}, Count: 1}).Val()
		if ids(got[0].Messages) != "1-3" {
			t.Fatalf("second consumer got %v", got)
		}
		got = c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "late", Consumer: "x", Streams: []string{"s", ">"}}).Val()
		if ids(got[0].Messages) != "1-4 1-5" {
			t.Fatalf("group created at 1-3 read %v", got)
		}
		// History: the consumer's own pending entries from an id on.
		got = c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{"s", "0"}}).Val()
		if ids(got[0].Messages) != "1-1 1-2" {
			t.Fatalf("history = %v", got)
		}
		got = c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{"s", "1-1"}}).Val()
		if ids(got[0].Messages) != "1-2" {
			t.Fatalf("history after 1-1 = %v", got)
		}
		sum := c.XPending(ctx, "s", "g").Val()
		if sum.Count != 3 || sum.Lower != "1-1" || sum.Higher != "1-3" || sum.Consumers["c1"] != 2 || sum.Consumers["c2"] != 1 {
			t.Fatalf("XPENDING summary = %+v", sum)
		}
		ext := c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "s", Group: "g", Start: "-", End: "+", Count: 10, Consumer: "c1"}).Val()
		if len(ext) != 2 || ext[0].ID != "1-1" || ext[0].Consumer != "c1" || ext[0].RetryCount != 1 {
			t.Fatalf("XPENDING extended = %+v", ext)
		}
		if ext := c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "s", Group: "g", Idle: time.Hour, Start: "-", End: "+", Count: 10}).Val(); len(ext) != 0 {
			t.Fatalf("XPENDING IDLE 1h = %+v", ext)
		}
		if n := c.XAck(ctx, "s", "g", "1-1", "1-3", "9-9").Val(); n != 2 {
			t.Fatalf("XACK = %d", n)
		}
		if n := c.XAck(ctx, "s", "nogroup", "1-1").Val(); n != 0 {
			t.Fatalf("XACK on a missing group = %d", n)
		}
		if sum := c.XPending(ctx, "s", "g").Val(); sum.Count != 1 {
			t.Fatalf("pending after XACK = %+v", sum)
		}
		// NOACK: delivered and settled at once.
		got = c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c3", Streams: []string{"s", ">"}, NoAck: true}).Val()
		if ids(got[0].Messages) != "1-4 1-5" {
			t.Fatalf("NOACK read %v", got)
		}
		if sum := c.XPending(ctx, "s", "g").Val(); sum.Count != 1 {
			t.Fatalf("NOACK left pending entries: %+v", sum)
		}
		// Nothing new: nil, and BLOCK times out with nil.
		if err := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{"s", ">"}, Block: -1}).Err(); err != redis.Nil {
			t.Fatalf("empty XREADGROUP = %v", err)
		}
		if err := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{"s", ">"}, Block: 50 * time.Millisecond}).Err(); err != redis.Nil {
			t.Fatalf("XREADGROUP BLOCK timeout = %v", err)
		}
		// A blocked XREADGROUP wakes on XADD.
		done := make(chan []redis.XStream, 1)
		go func() {
			done <- c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{"s", ">"}, Block: 0}).Val()
		}()
		waitBlocked(t, ts, 1)
		ts.client(2).XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "2-0", Values: []string{"n", "6"}})
		select {
		case got := <-done:
			if len(got) != 1 || ids(got[0].Messages) != "2-0" {
				t.Fatalf("woken XREADGROUP = %v", got)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("XREADGROUP BLOCK 0 did not wake on XADD")
		}
		mustErr(t, c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "nope", Consumer: "c", Streams: []string{"s", ">"}}).Err(),
			"NOGROUP No such key 's' or consumer group 'nope' in XREADGROUP with GROUP option")
		mustErr(t, c.Do(ctx, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$").Err(),
			"ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
		mustErr(t, c.Do(ctx, "XPENDING", "s", "nope").Err(), "NOGROUP No such key 's' or consumer group 'nope'")

		// XGROUP SETID re-reads; CREATECONSUMER, DELCONSUMER, DESTROY.
		if err := c.XGroupSetID(ctx, "s", "late", "0").Err(); err != nil {
			t.Fatal(err)
		}
		got = c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "late", Consumer: "y", Streams: []string{"s", ">"}, Count: 1}).Val()
		if ids(got[0].Messages) != "1-1" {
			t.Fatalf("after SETID 0: %v", got)
		}
		if n := c.XGroupCreateConsumer(ctx, "s", "g", "fresh").Val(); n != 1 {
			t.Fatalf("CREATECONSUMER = %d", n)
		}
		if n := c.XGroupCreateConsumer(ctx, "s", "g", "fresh").Val(); n != 0 {
			t.Fatalf("CREATECONSUMER again = %d", n)
		}
		if n := c.XGroupDelConsumer(ctx, "s", "g", "c1").Val(); n != 2 {
			t.Fatalf("DELCONSUMER dropped %d pending", n)
		}
		groups := c.XInfoGroups(ctx, "s").Val()
		if len(groups) != 3 || groups[0].Name != "g" || groups[0].Pending != 0 || groups[0].LastDeliveredID != "2-0" {
			t.Fatalf("XINFO GROUPS = %+v", groups)
		}
		cons := c.XInfoConsumers(ctx, "s", "g").Val()
		if len(cons) != 3 { // c2, c3, fresh
			t.Fatalf("XINFO CONSUMERS = %+v", cons)
		}
		info := c.XInfoStream(ctx, "s").Val()
		if info.Length != 6 || info.FirstEntry.ID != "1-1" || info.LastEntry.ID != "2-0" || info.Groups != 3 || info.LastGeneratedID != "2-0" {
			t.Fatalf("XINFO STREAM = %+v", info)
		}
		full := c.XInfoStreamFull(ctx, "s", 10).Val()
		if full.Length != 6 || len(full.Entries) != 6 || len(full.Groups) != 3 {
			t.Fatalf("XINFO STREAM FULL = %+v", full)
		}
		if n := c.XGroupDestroy(ctx, "s", "late").Val(); n != 1 {
			t.Fatalf("DESTROY = %d", n)
		}
		if n := c.XGroupDestroy(ctx, "s", "late").Val(); n != 0 {
			t.Fatalf("DESTROY again = %d", n)
		}
	}
}

func TestClaimTakesOverADeadConsumer(t *testing.T) {
	ts, fake := startFakeClockServer(t)
	c := ts.client(2)
	c.XGroupCreateMkStream(ctx, "s", "g", "$")
	for i := 1; i <= 4; i++ {
		c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-" + itoa(i), Values: []string{"n", itoa(i)}})
	}
	dead := redis.NewClient(&redis.Options{Addr: ts.addr})
	if got := dead.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "dead", Streams: []string{"s", ">"}}).Val(); len(got[0].Messages) != 4 {
		t.Fatalf("dead consumer read %v", got)
	}
	dead.Close() // its entries stay pending, as in Redis
	if msgs, start := c.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: "s", Group: "g", Consumer: "alive", MinIdle: time.Hour, Start: "0"}).Val(); len(msgs) != 0 || start != "0-0" {
		t.Fatalf("XAUTOCLAIM claimed entries not yet idle: %v %s", msgs, start)
	}
	// min-idle is reached when the entries have been idle that long.
	fake.Advance(19 * time.Millisecond)
	if msgs, start := c.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: "s", Group: "g", Consumer: "alive", MinIdle: 20 * time.Millisecond, Start: "0"}).Val(); len(msgs) != 0 || start != "0-0" {
		t.Fatalf("XAUTOCLAIM claimed entries idle 19ms of 20: %v %s", msgs, start)
	}
	fake.Advance(time.Millisecond)
	msgs, start := c.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: "s", Group: "g", Consumer: "alive", MinIdle: 20 * time.Millisecond, Start: "0", Count: 2}).Val()
	if ids(msgs) != "1-1 1-2" || start != "1-3" || msgs[0].Values["n"] != "1" {
		t.Fatalf("XAUTOCLAIM = %v next %s", msgs, start)
	}
	justIDs, start := c.XAutoClaimJustID(ctx, &redis.XAutoClaimArgs{Stream: "s", Group: "g", Consumer: "alive", MinIdle: 20 * time.Millisecond, Start: start, Count: 10}).Val()
	if strings.Join(justIDs, " ") != "1-3 1-4" || start != "0-0" {
		t.Fatalf("XAUTOCLAIM JUSTID = %v next %s", justIDs, start)
	}
	ext := c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "s", Group: "g", Start: "-", End: "+", Count: 10}).Val()
	if len(ext) != 4 || ext[0].Consumer != "alive" || ext[0].RetryCount != 2 || ext[2].RetryCount != 1 || ext[0].Idle != 0 {
		t.Fatalf("after XAUTOCLAIM: %+v", ext)
	}

	// XCLAIM with its options.
	got := c.XClaim(ctx, &redis.XClaimArgs{Stream: "s", Group: "g", Consumer: "other", MinIdle: 0, Messages: []string{"1-1", "9-9"}}).Val()
	if ids(got) != "1-1" {
		t.Fatalf("XCLAIM = %v", got)
	}
	c.Do(ctx, "XCLAIM", "s", "g", "other", "0", "1-2", "IDLE", "60000", "RETRYCOUNT", "7")
	ext = c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "s", Group: "g", Start: "1-2", End: "1-2", Count: 1}).Val()
	if len(ext) != 1 || ext[0].RetryCount != 7 || ext[0].Idle != time.Minute || ext[0].Consumer != "other" {
		t.Fatalf("XCLAIM IDLE RETRYCOUNT: %+v", ext)
	}
	if got := c.XClaim(ctx, &redis.XClaimArgs{Stream: "s", Group: "g", Consumer: "x", MinIdle: time.Hour, Messages: []string{"1-3"}}).Val(); len(got) != 0 {
		t.Fatalf("XCLAIM ignored min-idle: %v", got)
	}
	res := c.Do(ctx, "XCLAIM", "s", "g", "x", "0", "1-3", "JUSTID", "TIME", itoa(int(fake.Now().Add(-time.Minute).UnixMilli()))).Val()
	if arr, _ := res.([]any); len(arr) != 1 || arr[0] != "1-3" {
		t.Fatalf("XCLAIM JUSTID TIME = %v", res)
	}
	ext = c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "s", Group: "g", Start: "1-3", End: "1-3", Count: 1}).Val()
	if ext[0].RetryCount != 1 || ext[0].Idle != time.Minute {
		t.Fatalf("JUSTID changed the count or TIME was ignored: %+v", ext)
	}
	// FORCE makes a delivered-then-acked... entry pending again only if it is not settled.
	c.XAck(ctx, "s", "g", "1-4")
	if got := c.Do(ctx, "XCLAIM", "s", "g", "x", "0", "1-4", "FORCE", "JUSTID").Val(); len(got.([]any)) != 0 {
		t.Fatalf("FORCE claimed an acknowledged entry: %v", got)
	}
	mustErr(t, c.Do(ctx, "XCLAIM", "s", "g", "x", "0", "1-3", "BOGUS").Err(), "ERR Unrecognized XCLAIM option 'BOGUS'")
	mustErr(t, c.Do(ctx, "XCLAIM", "s", "g", "x", "x", "1-3").Err(), "ERR Invalid min-idle-time argument for XCLAIM")
	mustErr(t, c.Do(ctx, "XAUTOCLAIM", "s", "g", "x", "0", "0", "COUNT", "0").Err(), "ERR COUNT must be > 0")

	// A trimmed pending entry is reported as deleted by XAUTOCLAIM.
	c.XTrimMinID(ctx, "s", "1-2")
	raw := c.Do(ctx, "XAUTOCLAIM", "s", "g", "z", "0", "0").Val().([]any)
	if len(raw) != 3 {
		t.Fatalf("XAUTOCLAIM reply = %v", raw)
	}
	if deleted, _ := raw[2].([]any); len(deleted) != 1 || deleted[0] != "1-1" {
		t.Fatalf("XAUTOCLAIM deleted ids = %v, want [1-1]", raw[2])
	}
	if sum := c.XPending(ctx, "s", "g").Val(); sum.Count != 2 || sum.Lower != "1-2" {
		t.Fatalf("trimmed entry still pending: %+v", sum)
	}
}

func TestRetryLimitDeadLetters(t *testing.T) {
	ts := startServer(t, "")
	c := ts.client(3)
	c.XGroupCreateMkStream(ctx, "orders", "g", "$")
	mustErr(t, c.Do(ctx, "GANNET.XGROUP", "SETRETRY", "orders", "nope", "2", "orders-dead").Err(),
		"NOGROUP No such consumer group 'nope' for key name 'orders'")
	if err := c.Do(ctx, "GANNET.XGROUP", "SETRETRY", "orders", "g", "2", "orders-dead").Err(); err != nil {
		t.Fatal(err)
	}
	c.XAdd(ctx, &redis.XAddArgs{Stream: "orders", ID: "1-1", Values: []string{"orderId", "42"}})
	c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "a", Streams: []string{"orders", ">"}})
	// Delivery 2 by claim; the next claim finds the limit reached.
	if got := c.XClaim(ctx, &redis.XClaimArgs{Stream: "orders", Group: "g", Consumer: "b", Messages: []string{"1-1"}}).Val(); len(got) != 1 {
		t.Fatalf("second delivery: %v", got)
	}
	if got, _ := c.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: "orders", Group: "g", Consumer: "c", Start: "0"}).Val(); len(got) != 0 {
		t.Fatalf("claimed past the retry limit: %v", got)
	}
	if n := c.XPending(ctx, "orders", "g").Val().Count; n != 0 {
		t.Fatalf("dead-lettered entry still pending: %d", n)
	}
	dead := c.XRange(ctx, "orders-dead", "-", "+").Val()
	if len(dead) != 1 || dead[0].Values["orderId"] != "42" {
		t.Fatalf("dead-letter stream = %v", dead)
	}
	res := c.Do(ctx, "XINFO", "GROUPS", "orders").Val()
	groups, _ := res.([]any)
	g0, _ := groups[0].(map[any]any)
	if g0["gannet-max-deliveries"] != int64(2) || g0["gannet-dead-letter-stream"] != "orders-dead" {
		t.Fatalf("XINFO GROUPS extras = %v", g0)
	}
}

func TestGroupsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir)
	c := ts.client(2)
	c.XGroupCreateMkStream(ctx, "s", "g", "0")
	for i := 1; i <= 3; i++ {
		c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-" + itoa(i), Values: []string{"n", itoa(i)}})
	}
	c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{"s", ">"}, Count: 2})
	c.XAck(ctx, "s", "g", "1-1")
	c.Close()
	ts.stop()

	ts2 := startServer(t, dir)
	c2 := ts2.client(2)
	sum := c2.XPending(ctx, "s", "g").Val()
	if sum.Count != 1 || sum.Lower != "1-2" || sum.Consumers["c1"] != 1 {
		t.Fatalf("pending after restart = %+v", sum)
	}
	got := c2.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c2", Streams: []string{"s", ">"}}).Val()
	if len(got) != 1 || ids(got[0].Messages) != "1-3" {
		t.Fatalf("new entries after restart = %v", got)
	}
	if id := c2.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-*", Values: []string{"n", "4"}}).Val(); id != "1-4" {
		t.Fatalf("id after restart = %q", id)
	}
}

// TestPendingEntriesReadBackAfterRestart: after a restart the front-end
// knows no ids, so XPENDING, XAUTOCLAIM and XREADGROUP history read every
// pending entry of a batch back from the log, each with its own id and fields.
func TestPendingEntriesReadBackAfterRestart(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir)
	c := ts.client(2)
	c.XGroupCreateMkStream(ctx, "s", "g", "0")
	// One pipeline: one batch in the log.
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 1; i <= 6; i++ {
			p.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-" + itoa(i), Values: []string{"n", itoa(i)}})
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{"s", ">"}})
	c.XAck(ctx, "s", "g", "1-3")
	c.Close()
	ts.stop()

	c2 := startServer(t, dir).client(2)
	ext := c2.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "s", Group: "g", Start: "-", End: "+", Count: 10}).Val()
	var got []string
	for _, p := range ext {
		got = append(got, p.ID)
	}
	if strings.Join(got, " ") != "1-1 1-2 1-4 1-5 1-6" {
		t.Fatalf("XPENDING after restart = %+v", ext)
	}
	hist := c2.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{"s", "1-1"}}).Val()
	if len(hist) != 1 || ids(hist[0].Messages) != "1-2 1-4 1-5 1-6" || hist[0].Messages[2].Values["n"] != "5" {
		t.Fatalf("history after restart = %+v", hist)
	}
	msgs, start := c2.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: "s", Group: "g", Consumer: "c2", Start: "1-2", Count: 3}).Val()
	if ids(msgs) != "1-2 1-4 1-5" || msgs[0].Values["n"] != "2" || msgs[2].Values["n"] != "5" || start != "1-6" {
		t.Fatalf("XAUTOCLAIM after restart = %+v, next %s", msgs, start)
	}
	full := c2.XInfoStreamFull(ctx, "s", 10).Val()
	if full == nil || len(full.Groups) != 1 {
		t.Fatalf("XINFO STREAM FULL = %+v", full)
	}
	got = got[:0]
	for _, p := range full.Groups[0].Pending {
		got = append(got, p.ID+" "+p.Consumer+" "+itoa(int(p.DeliveryCount)))
	}
	if strings.Join(got, ", ") != "1-1 c1 1, 1-2 c2 2, 1-4 c2 2, 1-5 c2 2, 1-6 c1 1" {
		t.Fatalf("XINFO STREAM FULL pending = %s", strings.Join(got, ", "))
	}
	got = got[:0]
	for _, cons := range full.Groups[0].Consumers {
		got = append(got, cons.Name+":")
		for _, p := range cons.Pending {
			got = append(got, p.ID+"/"+itoa(int(p.DeliveryCount)))
		}
	}
	if strings.Join(got, " ") != "c1: 1-1/1 1-6/1 c2: 1-2/2 1-4/2 1-5/2" {
		t.Fatalf("XINFO STREAM FULL consumers = %s", strings.Join(got, " "))
	}
}
