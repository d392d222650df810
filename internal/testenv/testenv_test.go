package testenv_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/testenv"
)

func TestRunReturnsStdoutAndPassesEnvironment(t *testing.T) {
	sh := testenv.RequireTool(t, "sh")
	out := testenv.Run(t, 10*time.Second, []string{"GANNET_TESTENV=yes"}, sh, "-c", "echo $GANNET_TESTENV; echo noise >&2")
	if out != "yes\n" {
		t.Fatalf("Run output = %q, want %q", out, "yes\n")
	}
}

func TestRunPython(t *testing.T) {
	testenv.RequirePython(t)
	script := filepath.Join(t.TempDir(), "hello.py")
	if err := os.WriteFile(script, []byte("import os\nprint('port', os.environ['GANNET_PORT'])\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := testenv.RunPython(t, 20*time.Second, script, "GANNET_PORT=1234")
	if strings.TrimSpace(out) != "port 1234" {
		t.Fatalf("python printed %q", out)
	}
}

// recordingTB records Skip and Fatal and ends its goroutine, as testing
// does, without ending the test, so the rule "skip, or fail under
// GANNET_E2E=1" can be checked both ways.
type recordingTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordingTB) Skip(args ...any)  { r.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (r *recordingTB) Fatal(args ...any) { r.failed = fmt.Sprint(args...); runtime.Goexit() }

// requireTool calls RequireTool on a recordingTB in a goroutine of its own.
func requireTool(t *testing.T, tool string) (rec *recordingTB, path string) {
	rec = &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		path = testenv.RequireTool(rec, tool)
	}()
	<-done
	return rec, path
}

func TestAMissingToolSkipsOrFailsUnderE2E(t *testing.T) {
	sh := testenv.RequireTool(t, "sh")
	for _, e2e := range []string{"", "1"} {
		t.Setenv("GANNET_E2E", e2e)
		rec, path := requireTool(t, "amqp-get-not-installed")
		if path != "" {
			t.Fatalf("GANNET_E2E=%q: path %q for a missing tool", e2e, path)
		}
		got, other := rec.skipped, rec.failed
		if e2e == "1" {
			got, other = rec.failed, rec.skipped
		}
		if !strings.Contains(got, "amqp-get-not-installed is not available") || other != "" {
			t.Errorf("GANNET_E2E=%q: skipped %q, failed %q", e2e, rec.skipped, rec.failed)
		}
	}
	// A known tool's message names the Debian package that provides it.
	t.Setenv("GANNET_E2E", "")
	t.Setenv("PATH", t.TempDir())
	if rec, _ := requireTool(t, "amqp-get"); !strings.Contains(rec.skipped, "install the Debian package amqp-tools") {
		t.Errorf("skip message %q does not name amqp-tools", rec.skipped)
	}
	// An installed tool is found, and neither skips nor fails.
	t.Setenv("PATH", filepath.Dir(sh))
	if rec, path := requireTool(t, "sh"); path != sh || rec.skipped != "" || rec.failed != "" {
		t.Errorf("RequireTool(sh) = %q, skipped %q, failed %q; want %q", path, rec.skipped, rec.failed, sh)
	}
}
