package alarm

import (
	"os"
	"path/filepath"
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

func TestAvailableMemory(t *testing.T) {
	const meminfo = "MemTotal:        8388608 kB\nMemFree:         1000 kB\n" // 8 GiB
	cases := []struct {
		name       string
		selfCgroup string // "" means no file
		memoryMax  string // "" means no file
		want       uint64
	}{
		{"no cgroup file", "", "", 8 << 30},
		{"cgroup v1 only", "12:memory:/docker/abc\n", "", 8 << 30},
		{"v2 group without a limit", "0::/app.slice\n", "max\n", 8 << 30},
		{"v2 root group has no memory.max", "0::/\n", "", 8 << 30},
		{"v2 limit below the machine", "0::/app.slice\n", "2147483648\n", 2 << 30},
		{"v2 limit above the machine", "0::/app.slice\n", "17179869184\n", 8 << 30},
		{"hybrid: v1 lines and the v2 line", "3:cpu:/x\n0::/app.slice\n", "1073741824\n", 1 << 30},
		{"garbage in memory.max", "0::/app.slice\n", "lots\n", 8 << 30},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			src := memorySources{
				meminfo:     writeFile(t, dir, "proc/meminfo", meminfo),
				selfCgroup:  filepath.Join(dir, "proc/self/cgroup"),
				cgroupMount: filepath.Join(dir, "cgroup"),
			}
			if c.selfCgroup != "" {
				writeFile(t, dir, "proc/self/cgroup", c.selfCgroup)
			}
			if c.memoryMax != "" {
				writeFile(t, dir, "cgroup/app.slice/memory.max", c.memoryMax)
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
		meminfo:     filepath.Join(dir, "none"),
		selfCgroup:  writeFile(t, dir, "cgroup-self", "0::/c\n"),
		cgroupMount: dir,
	}
	if got, _ := availableMemory(src); got != 0 {
		t.Fatalf("nothing readable gave %d", got)
	}
	writeFile(t, dir, "c/memory.max", "536870912")
	if got, _ := availableMemory(src); got != 512<<20 {
		t.Fatalf("cgroup alone gave %d", got)
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
