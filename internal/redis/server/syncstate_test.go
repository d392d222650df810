package server

import (
	"strings"
	"testing"
)

// TestStateChangingRepliesWaitForTheJournal: every command that changes a
// group's durable state (what it has settled, where it reads from) or XDEL's
// tombstones sends its reply only after the state journal is synced, so a
// crash cannot take back what the reply confirmed.
func TestStateChangingRepliesWaitForTheJournal(t *testing.T) {
	ts := startServer(t, "")
	c := pipeConn(t, ts)
	run := func(cmd string) {
		t.Helper()
		c.out = c.out[:0]
		c.syncState = false
		dispatchLine(c, cmd)
		if len(c.adds) > 0 {
			c.appendAdds()
		}
		if strings.HasPrefix(string(c.out), "-") {
			t.Fatalf("%s: %q", cmd, c.out)
		}
	}
	for _, cmd := range []string{"XADD s 1-1 a 1", "XADD s 1-2 a 2", "XADD s 1-3 a 3", "XGROUP CREATE s g 0",
		"XREADGROUP GROUP g c STREAMS s >"} {
		run(cmd)
	}
	for _, cmd := range []string{
		"XACK s g 1-1",
		"XCLAIM s g c2 0 1-2",
		"XAUTOCLAIM s g c3 0 0",
		"XGROUP DELCONSUMER s g c3",
		"XDEL s 1-3",
		"XGROUP SETID s g 1-1",
		"XGROUP CREATE s g2 1-2",
	} {
		run(cmd)
		if !c.syncState {
			t.Errorf("%s: the reply does not wait for the state journal", cmd)
		}
	}
}
