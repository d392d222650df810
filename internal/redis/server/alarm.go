package server

import (
	"slices"

	"github.com/gannet-mq/gannet/internal/alarm"
)

// Replies to a command that would add data while a resource alarm is
// raised. The memory alarm answers as Redis does with maxmemory reached
// under maxmemory-policy noeviction; the disk alarm as Redis does after an
// AOF write failed with ENOSPC.
const (
	errOOM         = "OOM command not allowed when used memory > 'maxmemory'."
	errMisconfDisk = "MISCONF Errors writing to the AOF file: No space left on device"
)

// refuseWhileAlarmed answers a command that would add data with -OOM or
// -MISCONF while an alarm is raised, and reports whether it did. Reads and
// the writes that free space (XACK, XDEL, XTRIM, DEL, XGROUP DESTROY) keep
// working, as under Redis' noeviction policy, so consumers can drain.
// XADDs pipelined before the command are answered first by dispatch, as
// before any other refusal (settle, answerAddsFirst).
func (c *conn) refuseWhileAlarmed(h *command, args [][]byte) bool {
	raised := c.s.deps.Alarms.Raised()
	if raised == 0 || !growsData(h, args) {
		return false
	}
	if raised.Has(alarm.Memory) {
		c.err(errOOM) // Redis checks maxmemory before persistence errors
	} else {
		c.err(errMisconfDisk)
	}
	return true
}

// growsData reports whether Redis flags the command denyoom: XADD and
// XSETID, and XGROUP's CREATE and CREATECONSUMER subcommands.
func growsData(h *command, args [][]byte) bool {
	if h.name == "xgroup" {
		return len(args) > 1 && (equalFold(args[1], "create") || equalFold(args[1], "createconsumer"))
	}
	return slices.Contains(h.flags, "denyoom")
}
