package alarm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile creates dir/name (and its parents) holding text.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// escapeMountPath writes path as mountinfo does, spaces as \040.
func escapeMountPath(path string) string {
	return strings.NewReplacer(`\`, `\134`, " ", `\040`, "\t", `\011`, "\n", `\012`).Replace(path)
}

func TestAvailableMemory(t *testing.T) {
	const (
		meminfo   = "MemTotal:        8388608 kB\nMemFree:         1000 kB\n" // 8 GiB
		v2Mount   = "41 31 0:38 / {fs}/unified rw,relatime - cgroup2 cgroup2 rw\n"
		v1Mount   = "35 31 0:32 / {fs}/memory rw,relatime - cgroup cgroup rw,memory\n"
		v1CPU     = "32 31 0:29 / {fs}/cpu rw,relatime - cgroup cgroup rw,cpu\n"
		unlimited = "9223372036854771712\n" // what cgroup v1 writes for no limit
	)
	cases := []struct {
		name       string
		selfCgroup string            // "" means no file
		mountinfo  string            // {fs} is the fake cgroup mount directory
		files      map[string]string // under {fs}
		want       uint64
	}{
		{"no cgroup file", "", v2Mount, nil, 8 << 30},
		{"no cgroup mounted", "0::/app.slice\n", "", map[string]string{"unified/app.slice/memory.max": "1073741824"}, 8 << 30},
		{"v2 group without a limit", "0::/app.slice\n", v2Mount, map[string]string{"unified/app.slice/memory.max": "max\n"}, 8 << 30},
		{"v2 root group has no memory.max", "0::/\n", v2Mount, nil, 8 << 30},
		{"v2 limit below the machine", "0::/app.slice\n", v2Mount, map[string]string{"unified/app.slice/memory.max": "2147483648\n"}, 2 << 30},
		{"v2 limit above the machine", "0::/app.slice\n", v2Mount, map[string]string{"unified/app.slice/memory.max": "17179869184\n"}, 8 << 30},
		{"v2 limit on an ancestor, the lowest counts", "0::/app.slice/gannet.service\n", v2Mount, map[string]string{
			"unified/memory.max":                          "536870912\n", // the mount point's own file counts too
			"unified/app.slice/memory.max":                "1073741824\n",
			"unified/app.slice/gannet.service/memory.max": "max\n",
		}, 512 << 20},
		{"v2 in a namespace: the group is the mount point", "0::/\n",
			"41 31 0:38 / {fs}/unified rw - cgroup2 cgroup2 rw\n",
			map[string]string{"unified/memory.max": "1073741824\n"}, 1 << 30},
		{"v2 group outside the namespace", "0::/../other\n", v2Mount, map[string]string{"other/memory.max": "1073741824"}, 8 << 30},
		{"garbage in memory.max", "0::/app.slice\n", v2Mount, map[string]string{"unified/app.slice/memory.max": "lots\n"}, 8 << 30},
		{"hybrid host: memory is on v1", "5:cpu:/x\n4:memory:/process_api/job\n0::/\n", v1CPU + v1Mount + v2Mount, map[string]string{
			"memory/memory.limit_in_bytes":                 unlimited,
			"memory/process_api/memory.limit_in_bytes":     unlimited,
			"memory/process_api/job/memory.limit_in_bytes": "1073741824\n",
			"unified/memory.max":                           "268435456\n", // not the memory hierarchy
			"cpu/process_api/job/memory.limit_in_bytes":    "268435456\n", // nor is cpu's
		}, 1 << 30},
		{"v1 without a limit", "4:memory:/process_api/job\n", v1Mount, map[string]string{
			"memory/memory.limit_in_bytes":                 unlimited,
			"memory/process_api/job/memory.limit_in_bytes": unlimited,
		}, 8 << 30},
		{"v1 container: the mount's root is the group", "4:memory:/docker/abc\n",
			"35 31 0:32 /docker/abc {fs}/memory ro,nosuid - cgroup cgroup rw,memory\n",
			map[string]string{
				"memory/memory.limit_in_bytes":            "536870912\n",
				"memory/docker/abc/memory.limit_in_bytes": "268435456\n", // only a wrong path finds this
			}, 512 << 20},
		{"v1 mount of another group", "4:memory:/docker/abc\n",
			"35 31 0:32 /docker/abcd {fs}/memory ro,nosuid - cgroup cgroup rw,memory\n",
			map[string]string{"memory/memory.limit_in_bytes": "536870912\n"}, 8 << 30},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			fs := filepath.Join(dir, "cgroup fs") // mountinfo escapes the space
			src := memorySources{
				meminfo:    writeFile(t, dir, "proc/meminfo", meminfo),
				selfCgroup: filepath.Join(dir, "proc/self/cgroup"),
				mountinfo:  writeFile(t, dir, "proc/self/mountinfo", strings.ReplaceAll(c.mountinfo, "{fs}", escapeMountPath(fs))),
			}
			if c.selfCgroup != "" {
				writeFile(t, dir, "proc/self/cgroup", c.selfCgroup)
			}
			for name, text := range c.files {
				writeFile(t, fs, name, text)
			}
			if got, source := availableMemory(src); got != c.want {
				t.Fatalf("availableMemory = %d (from %s), want %d", got, source, c.want)
			}
		})
	}
}

func TestAvailableMemoryWithoutMeminfo(t *testing.T) {
	dir := t.TempDir()
	src := memorySources{
		meminfo:    filepath.Join(dir, "none"),
		selfCgroup: writeFile(t, dir, "cgroup-self", "0::/c\n"),
		mountinfo:  writeFile(t, dir, "mountinfo", "41 31 0:38 / "+escapeMountPath(dir)+" rw - cgroup2 cgroup2 rw\n"),
	}
	if got, _ := availableMemory(src); got != 0 {
		t.Fatalf("nothing readable gave %d", got)
	}
	writeFile(t, dir, "c/memory.max", "9223372036854771712") // v1's "unlimited"
	if got, _ := availableMemory(src); got != 0 {
		t.Fatalf("an unlimited cgroup gave %d", got)
	}
	writeFile(t, dir, "c/memory.max", "536870912")
	if got, source := availableMemory(src); got != 512<<20 || source != filepath.Join(dir, "c/memory.max") {
		t.Fatalf("cgroup alone gave %d from %s", got, source)
	}
}

// TestAvailableMemoryOnThisMachine: the real files parse, and a cgroup
// limit found is never above what the machine has.
func TestAvailableMemoryOnThisMachine(t *testing.T) {
	total, source := availableMemory(defaultMemorySources)
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Skip("no /proc/meminfo")
	}
	machine, ok := parseMemTotal(data)
	if !ok || total == 0 || total > machine {
		t.Fatalf("availableMemory = %d from %q; MemTotal %d", total, source, machine)
	}
}

func TestParseMemTotal(t *testing.T) {
	for text, want := range map[string]uint64{
		"MemTotal:       16315872 kB\n": 16315872 << 10,
		"MemFree: 1 kB\nMemTotal: 2 kB": 2 << 10,
		"MemTotal: 2 MB\n":              0,
		"MemTotal: lots kB\n":           0,
		"":                              0,
	} {
		got, ok := parseMemTotal([]byte(text))
		if got != want || ok != (want != 0) {
			t.Errorf("parseMemTotal(%q) = %d, %v; want %d", text, got, ok, want)
		}
	}
}
