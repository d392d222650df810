package loadgen

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Linux reports process times in USER_HZ ticks, which is 100 on every
// architecture Go supports for Linux; the kernel keeps it fixed for
// userspace compatibility, so it needs no sysconf call.
const userHZ = 100

// procSample is one reading of a process's /proc/<pid>/stat.
type procSample struct {
	CPU      time.Duration // user + system time
	RSSBytes int64
}

// readProcStat reads CPU time and resident memory of pid.
func readProcStat(pid int) (procSample, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, fmt.Errorf("reading broker stats (is --broker-pid %d running?): %w", pid, err)
	}
	return parseProcStat(string(raw), os.Getpagesize())
}

// parseProcStat parses the stat line. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from its closing parenthesis.
func parseProcStat(line string, pageSize int) (procSample, error) {
	end := strings.LastIndexByte(line, ')')
	if end < 0 {
		return procSample{}, fmt.Errorf("malformed /proc stat line %q", line)
	}
	// After ")" come fields 3 (state) onwards; utime is field 14, stime 15, rss 24.
	fields := strings.Fields(line[end+1:])
	if len(fields) < 22 {
		return procSample{}, fmt.Errorf("short /proc stat line: %d fields after the name", len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	rss, err3 := strconv.ParseInt(fields[21], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procSample{}, fmt.Errorf("malformed numbers in /proc stat line %q", line)
	}
	return procSample{
		CPU:      time.Duration(utime+stime) * time.Second / userHZ,
		RSSBytes: rss * int64(pageSize),
	}, nil
}

// selfCPU is the CPU time this process has used, at microsecond resolution.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
