package server

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/gannet-mq/gannet/internal/alarm"
)

// TestAlarmsRefuseCommandsThatAddData: under the memory alarm XADD gets
// Redis' maxmemory error and under the disk alarm its AOF ENOSPC error,
// while reads and the commands that free space keep working; once the
// alarms clear XADD works again.
func TestAlarmsRefuseCommandsThatAddData(t *testing.T) {
	alarms := alarm.NewFake()
	ts := startServerWith(t, "", func(d *Deps) { d.Alarms = alarms.Monitor })
	ctx := context.Background()
	for _, protocol := range []int{2, 3} {
		rdb := ts.client(protocol)
		must := func(what string, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("RESP%d %s: %v", protocol, what, err)
			}
		}
		refused := func(what string, err error, want string) {
			t.Helper()
			if err == nil || err.Error() != want {
				t.Fatalf("RESP%d %s = %v, want %q", protocol, what, err, want)
			}
		}
		must("FLUSHALL", rdb.FlushAll(ctx).Err())
		var ids []string
		for range 3 {
			id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: []string{"f", "v"}}).Result()
			must("XADD before the alarm", err)
			ids = append(ids, id)
		}
		must("XGROUP CREATE", rdb.XGroupCreate(ctx, "s", "g", "0").Err())

		for _, tc := range []struct {
			raised alarm.Resource
			want   string
		}{
			{alarm.Memory, "OOM command not allowed when used memory > 'maxmemory'."},
			{alarm.Disk, "MISCONF Errors writing to the AOF file: No space left on device"},
			{alarm.Memory | alarm.Disk, "OOM command not allowed when used memory > 'maxmemory'."},
		} {
			alarms.Set(tc.raised)
			refused("XADD", rdb.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: []string{"f", "v"}}).Err(), tc.want)
			refused("XADD to a new stream", rdb.XAdd(ctx, &redis.XAddArgs{Stream: "new", Values: []string{"f", "v"}}).Err(), tc.want)
			refused("XGROUP CREATE", rdb.XGroupCreateMkStream(ctx, "other", "g", "$").Err(), tc.want)
			refused("XGROUP CREATECONSUMER", rdb.XGroupCreateConsumer(ctx, "s", "g", "c9").Err(), tc.want)
			refused("XSETID", rdb.Do(ctx, "XSETID", "s", "99999999999-0").Err(), tc.want)
			if n, err := rdb.XLen(ctx, "s").Result(); err != nil || n != 3 {
				t.Fatalf("RESP%d XLEN under %v = %d, %v", protocol, tc.raised, n, err)
			}
			if n, err := rdb.Exists(ctx, "new", "other").Result(); err != nil || n != 0 {
				t.Fatalf("RESP%d a refused command created a stream: %d, %v", protocol, n, err)
			}
		}

		// Reads and the commands that free space work under both alarms.
		alarms.Set(alarm.Memory | alarm.Disk)
		msgs, err := rdb.XRange(ctx, "s", "-", "+").Result()
		must("XRANGE", err)
		if len(msgs) != 3 {
			t.Fatalf("XRANGE = %d entries", len(msgs))
		}
		streams, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{"s", ">"}, Count: 3}).Result()
		must("XREADGROUP", err)
		if len(streams) != 1 || len(streams[0].Messages) != 3 {
			t.Fatalf("XREADGROUP = %+v", streams)
		}
		if n, err := rdb.XAck(ctx, "s", "g", ids[0]).Result(); err != nil || n != 1 {
			t.Fatalf("XACK = %d, %v", n, err)
		}
		if n, err := rdb.XDel(ctx, "s", ids[1]).Result(); err != nil || n != 1 {
			t.Fatalf("XDEL = %d, %v", n, err)
		}
		must("XTRIM", rdb.XTrimMaxLen(ctx, "s", 1).Err())
		if n, err := rdb.XLen(ctx, "s").Result(); err != nil || n != 1 {
			t.Fatalf("XLEN after XDEL and XTRIM = %d, %v", n, err)
		}
		must("XGROUP DESTROY", rdb.XGroupDestroy(ctx, "s", "g").Err())
		if n, err := rdb.Del(ctx, "s").Result(); err != nil || n != 1 {
			t.Fatalf("DEL = %d, %v", n, err)
		}

		alarms.Set(0)
		must("XADD after the alarms cleared", rdb.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: []string{"f", "v"}}).Err())
		if n, err := rdb.XLen(ctx, "s").Result(); err != nil || n != 1 {
			t.Fatalf("XLEN after clearing = %d, %v", n, err)
		}
	}
}

// TestAlarmRefusalAfterPipelinedXAddsKeepsReplyOrder: XADDs pipelined
// before an alarm is raised wait in the connection for their ids; a
// command refused under the alarm that follows them in the same pipeline
// is answered after their ids, so clients matching replies by position do
// not shift. The alarm rises between two commands of one pipeline, so the
// test drives the connection's dispatch directly.
func TestAlarmRefusalAfterPipelinedXAddsKeepsReplyOrder(t *testing.T) {
	alarms := alarm.NewFake()
	ts := startServerWith(t, "", func(d *Deps) { d.Alarms = alarms.Monitor })
	c := pipeConn(t, ts)
	const oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n"
	for i, refused := range []string{"XADD s * f v", "XSETID s 99-0", "XGROUP CREATE s g $"} {
		first, second := itoa(i+1)+"-1", itoa(i+1)+"-2"
		alarms.Set(0)
		c.out = c.out[:0]
		dispatchLine(c, "XADD s "+first+" f v")
		dispatchLine(c, "XADD s "+second+" f v")
		alarms.Set(alarm.Memory)
		dispatchLine(c, refused)
		if len(c.adds) > 0 {
			c.appendAdds()
		}
		want := "$3\r\n" + first + "\r\n$3\r\n" + second + "\r\n" + oom
		if string(c.out) != want {
			t.Errorf("%s after two pipelined XADDs: replies %q, want %q", refused, c.out, want)
		}
	}
}
