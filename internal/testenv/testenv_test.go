package testenv_test

import (
	"os"
	"path/filepath"
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
