package alarm

import (
	"os"
	"path/filepath"
	"runtime/metrics"
	"slices"
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
	meminfo    string // /proc/meminfo
	selfCgroup string // /proc/self/cgroup
	mountinfo  string // /proc/self/mountinfo, where the cgroup hierarchies are
}

var defaultMemorySources = memorySources{
	meminfo:    "/proc/meminfo",
	selfCgroup: "/proc/self/cgroup",
	mountinfo:  "/proc/self/mountinfo",
}

// availableMemory is the memory the watermark is a fraction of: the
// machine's, or the process's cgroup memory limit when that is lower (a
// container's limit is what the OOM killer enforces). It returns 0 when
// neither can be read, and names where the figure came from.
func availableMemory(src memorySources) (uint64, string) {
	total, source := uint64(0), ""
	if data, err := os.ReadFile(src.meminfo); err == nil {
		if n, ok := parseMemTotal(data); ok {
			total, source = n, "MemTotal in "+src.meminfo
		}
	}
	if limit, path, ok := cgroupMemoryLimit(src); ok && (total == 0 || limit < total) {
		total, source = limit, path
	}
	return total, source
}

// parseMemTotal reads the MemTotal line of /proc/meminfo, in kB.
func parseMemTotal(data []byte) (uint64, bool) {
	for line := range strings.SplitSeq(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, "MemTotal:")
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

// cgroupMemoryLimit reads the memory limit of the process's cgroup: v1's
// memory.limit_in_bytes when a v1 hierarchy has the memory controller (it
// then cannot be on v2, so hybrid hosts are v1 for memory), else v2's
// memory.max. The group's directory is found as the Go runtime finds its
// CPU cgroup: the hierarchy's mount in mountinfo, less the mount's root
// (a container sees its own group at the mount point). Limits apply
// hierarchically, so the lowest of the group and its ancestors up to the
// mount point counts; it reports false when none sets one.
func cgroupMemoryLimit(src memorySources) (limit uint64, path string, ok bool) {
	data, err := os.ReadFile(src.selfCgroup)
	if err != nil {
		return 0, "", false
	}
	group, v1, found := memoryCgroup(string(data))
	if !found {
		return 0, "", false
	}
	data, err = os.ReadFile(src.mountinfo)
	if err != nil {
		return 0, "", false
	}
	mountPoint, dir, found := cgroupDir(string(data), group, v1)
	if !found {
		return 0, "", false
	}
	file := "memory.max"
	if v1 {
		file = "memory.limit_in_bytes"
	}
	for {
		candidate := filepath.Join(dir, file)
		if data, err := os.ReadFile(candidate); err == nil {
			if n, set := parseMemoryLimit(data); set && (!ok || n < limit) {
				limit, path, ok = n, candidate, true
			}
		}
		if dir == mountPoint || dir == filepath.Dir(dir) {
			return limit, path, ok
		}
		dir = filepath.Dir(dir)
	}
}

// memoryCgroup finds the process's memory cgroup in /proc/self/cgroup
// ("hierarchy-ID:controllers:/path" lines): the v1 line whose controllers
// include memory, else the v2 line "0::/path".
func memoryCgroup(selfCgroup string) (group string, v1, ok bool) {
	for line := range strings.SplitSeq(selfCgroup, "\n") {
		id, rest, found := strings.Cut(line, ":")
		if !found {
			continue
		}
		controllers, path, found := strings.Cut(rest, ":")
		if !found || !strings.HasPrefix(path, "/") {
			continue
		}
		if id == "0" && controllers == "" {
			group, ok = path, true // keep looking for a v1 memory line
		} else if slices.Contains(strings.Split(controllers, ","), "memory") {
			return path, true, true
		}
	}
	return group, false, ok
}

// cgroupDir finds in mountinfo the mount of the hierarchy holding group (a
// cgroup2 mount, or a v1 cgroup mount with the memory controller) and
// returns its mount point and the group's directory under it.
func cgroupDir(mountinfo, group string, v1 bool) (mountPoint, dir string, ok bool) {
	for line := range strings.SplitSeq(mountinfo, "\n") {
		// id parent major:minor root mount-point options [optional...] - type source super-options
		mount, fs, found := strings.Cut(line, " - ")
		if !found {
			continue
		}
		mountFields, fsFields := strings.Fields(mount), strings.Fields(fs)
		if len(mountFields) < 5 || len(fsFields) < 3 {
			continue
		}
		switch {
		case v1 && fsFields[0] == "cgroup" && slices.Contains(strings.Split(fsFields[2], ","), "memory"):
		case !v1 && fsFields[0] == "cgroup2":
		default:
			continue
		}
		root, point := unescapeMountPath(mountFields[3]), unescapeMountPath(mountFields[4])
		rel := group
		if root != "/" {
			rest, under := strings.CutPrefix(group, root)
			if !under || (rest != "" && !strings.HasPrefix(rest, "/")) {
				continue // this mount does not show the group
			}
			rel = rest
		}
		if rel == "/.." || strings.HasPrefix(rel, "/../") {
			continue // outside the cgroup namespace this mount shows
		}
		return point, filepath.Join(point, filepath.FromSlash(rel)), true
	}
	return "", "", false
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space,
// \011, \012, \134).
func unescapeMountPath(path string) string {
	if !strings.Contains(path, "\\") {
		return path
	}
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		if path[i] == '\\' && i+4 <= len(path) {
			if n, err := strconv.ParseUint(path[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(path[i])
	}
	return b.String()
}

// noMemoryLimit is where a limit stops being one: cgroup v1 writes
// "unlimited" as the largest page-aligned int64, and no machine has 4 EiB.
const noMemoryLimit = 1 << 62

// parseMemoryLimit reads memory.max (a byte count, or "max") or v1's
// memory.limit_in_bytes (a byte count, huge when unlimited).
func parseMemoryLimit(data []byte) (uint64, bool) {
	text := strings.TrimSpace(string(data))
	if text == "max" {
		return 0, false
	}
	n, err := strconv.ParseUint(text, 10, 64)
	if err != nil || n == 0 || n >= noMemoryLimit {
		return 0, false
	}
	return n, true
}
