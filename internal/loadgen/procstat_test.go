package loadgen

import (
	"os"
	"testing"
	"time"
)

func TestParseProcStatWithAWkwardName(t *testing.T) {
	// A command name may contain spaces and parentheses.
	line := "4242 (beam (smp) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 30 0 1234 567890 2048 18446744073709551615"
	got, err := parseProcStat(line, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if got.CPU != 3*time.Second {
		t.Errorf("cpu = %s, want 3s (250+50 ticks at 100 Hz)", got.CPU)
	}
	if got.RSSBytes != 2048*4096 {
		t.Errorf("rss = %d, want %d", got.RSSBytes, 2048*4096)
	}
	if _, err := parseProcStat("4242 (x) S 1 2", 4096); err == nil {
		t.Error("a truncated line was accepted")
	}
}

func TestReadProcStatOfThisProcess(t *testing.T) {
	got, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got.RSSBytes <= 0 {
		t.Errorf("this process has rss %d", got.RSSBytes)
	}
	if _, err := readProcStat(-5); err == nil {
		t.Error("reading a pid that cannot exist succeeded")
	}
}
