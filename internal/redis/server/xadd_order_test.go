package server

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestPipelinedXAddRefusalKeepsReplyOrder pipelines good XADDs around ones
// refused at once (arity, then an odd field count) and an unknown command
// with an overlong name: go-redis matches replies to commands by position,
// so each refusal must come after the ids of the XADDs sent before it.
func TestPipelinedXAddRefusalKeepsReplyOrder(t *testing.T) {
	ts := startServer(t, "")
	ctx := context.Background()
	c := ts.client(2)
	cmds, _ := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-1", Values: []string{"a", "1"}})
		p.Do(ctx, "XADD", "s", "*", "a") // arity
		p.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "2-1", Values: []string{"a", "2"}})
		p.Do(ctx, "XADD", "s", "*", "a", "1", "b") // odd fields
		p.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "3-1", Values: []string{"a", "3"}})
		p.Do(ctx, strings.Repeat("x", 40)) // longer than any command name
		p.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "4-1", Values: []string{"a", "4"}})
		return nil
	})
	want := []string{"1-1", "ERR wrong number", "2-1", "ERR wrong number", "3-1", "ERR unknown command", "4-1"}
	for i, cmd := range cmds {
		var got string
		switch c := cmd.(type) {
		case *redis.StringCmd:
			got = c.Val()
		}
		if err := cmd.Err(); err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, want[i]) {
			t.Errorf("reply %d: %q, want %q...", i, got, want[i])
		}
	}
	if len(cmds) != len(want) {
		t.Fatalf("%d replies, want %d", len(cmds), len(want))
	}
	if n := c.XLen(ctx, "s").Val(); n != 4 {
		t.Fatalf("XLEN %d, want 4", n)
	}
}
