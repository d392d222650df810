package alarm

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// StatfsFree reports the bytes available to an unprivileged writer on dir's
// volume (statfs f_bavail), which is what the broker's appends can use.
func StatfsFree(dir string) func() (uint64, error) {
	return func() (uint64, error) {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			return 0, err
		}
		return st.Bavail * uint64(st.Bsize), nil
	}
}

// GoMemoryUsed reports the memory the Go runtime has mapped and not given
// back to the operating system: /memory/classes/total:bytes minus
// /memory/classes/heap/released:bytes.
//
// It is the figure GOMEMLIMIT is enforced against, so the alarm and the
// garbage collector agree on what "used" means, and it is cheap to read on
// every platform. RSS (/proc/self/statm) was the alternative: it is
// Linux-only, costs a file read per check, and shrinks when pages are
// swapped out, hiding the very pressure the alarm is for. Gannet has no cgo
// and does not mmap its logs, so the runtime sees nearly all the memory the
// process holds.
func GoMemoryUsed() uint64 {
	samples := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(samples)
	if samples[0].Value.Kind() != metrics.KindUint64 || samples[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return samples[0].Value.Uint64() - samples[1].Value.Uint64()
}

// memorySources are the files the default memory limit is derived from;
// tests point them at temporary files.
type memorySources struct {
	meminfo     string // /proc/meminfo
	selfCgroup  string // /proc/self/cgroup
	cgroupMount string // the cgroup v2 hierarchy, /sys/fs/cgroup
}

var defaultMemorySources = memorySources{
	meminfo:     "/proc/meminfo",
	selfCgroup:  "/proc/self/cgroup",
	cgroupMount: "/sys/fs/cgroup",
}

// availableMemory is the memory the watermark is a fraction of: the
// machine's, or the cgroup v2 memory.max when that is lower (a container's
// limit is what the OOM killer enforces). It returns 0 when neither can be
// read, and names where the figure came from.
func availableMemory(src memorySources) (uint64, string) {
	total, source := uint64(0), ""
	if data, err := os.ReadFile(src.meminfo); err == nil {
		if n, ok := parseMemTotal(data); ok {
			total, source = n, "MemTotal in "+src.meminfo
		}
	}
	if limit, path, ok := cgroupMemoryMax(src); ok && (total == 0 || limit < total) {
		total, source = limit, path
	}
	return total, source
}

// parseMemTotal reads the MemTotal line of /proc/meminfo, in kB.
func parseMemTotal(data []byte) (uint64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil || kb == 0 {
			return 0, false
		}
		return kb << 10, true
	}
	return 0, false
}

// cgroupMemoryMax reads memory.max of the process's cgroup v2 group. It
// reports false when there is no v2 group, no file (the root group has
// none) or no limit ("max").
func cgroupMemoryMax(src memorySources) (uint64, string, bool) {
	data, err := os.ReadFile(src.selfCgroup)
	if err != nil {
		return 0, "", false
	}
	group, ok := cgroupV2Path(data)
	if !ok {
		return 0, "", false
	}
	path := filepath.Join(src.cgroupMount, filepath.FromSlash(group), "memory.max")
	data, err = os.ReadFile(path)
	if err != nil {
		return 0, "", false
	}
	limit, ok := parseMemoryMax(data)
	return limit, path, ok
}

// cgroupV2Path finds the "0::/path" line of /proc/self/cgroup, the unified
// hierarchy's entry.
func cgroupV2Path(data []byte) (string, bool) {
	for line := range strings.SplitSeq(string(data), "\n") {
		if group, ok := strings.CutPrefix(line, "0::"); ok {
			return group, strings.HasPrefix(group, "/")
		}
	}
	return "", false
}

// parseMemoryMax reads a memory.max file: a byte count, or "max".
func parseMemoryMax(data []byte) (uint64, bool) {
	text := strings.TrimSpace(string(data))
	if text == "max" {
		return 0, false
	}
	n, err := strconv.ParseUint(text, 10, 64)
	if err != nil || n == 0 {
		return 0, false
	}
	return n, true
}
