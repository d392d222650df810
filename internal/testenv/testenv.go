// Package testenv lets tests drive real clients that come from Debian
// packages (python3-pika, kcat, redis-cli, ...). Without GANNET_E2E=1 a
// missing tool skips the test with a message naming the package, so
// `go test ./...` passes with Go alone; with GANNET_E2E=1 (set by CI after
// installing the packages) a missing tool fails the test, so nothing in CI
// is skipped silently. It also holds small helpers that tests of several
// packages share (WaitFor).
package testenv

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Python is the interpreter the article's samples run with: Debian's, whose
// packages (python3-pika, python3-kafka, ...) are the clients under test.
const Python = "/usr/bin/python3"

// E2E reports whether end-to-end tools are required (GANNET_E2E=1).
func E2E() bool { return os.Getenv("GANNET_E2E") == "1" }

// debianPackage names the package that provides a tool or Python module,
// for the skip message.
var debianPackage = map[string]string{
	"kcat":         "kcat",
	"redis-cli":    "redis-tools",
	"redis-server": "redis-server",
	"amqp-publish": "amqp-tools",
	"amqp-consume": "amqp-tools",
	"amqp-get":     "amqp-tools",
	"promtool":     "prometheus",
	"pika":         "python3-pika",
	"kafka":        "python3-kafka",
	"redis":        "python3-redis",
	"boto3":        "python3-boto3",
	"python3":      "python3",
}

func unavailable(t testing.TB, what, why string) {
	t.Helper()
	pkg := debianPackage[what]
	if pkg == "" {
		pkg = what
	}
	msg := what + " is not available (" + why + "); install the Debian package " + pkg
	if E2E() {
		t.Fatal(msg + " (GANNET_E2E=1 makes this a failure)")
	}
	t.Skip(msg + ", or set GANNET_E2E=1 to make this a failure")
}

// RequireTool returns the path of a command-line tool, or skips (fails under
// GANNET_E2E=1) when it is not installed.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		unavailable(t, name, "not on PATH")
	}
	return path
}

// RequirePython checks that Debian's python3 can import every module, and
// returns the interpreter's path.
func RequirePython(t testing.TB, modules ...string) string {
	t.Helper()
	if _, err := os.Stat(Python); err != nil {
		unavailable(t, "python3", Python+" missing")
	}
	for _, module := range modules {
		out, err := exec.Command(Python, "-c", "import "+module).CombinedOutput()
		if err != nil {
			unavailable(t, module, "import failed: "+strings.TrimSpace(string(out)))
		}
	}
	return Python
}

// RunPython runs a script with Debian's python3 and the extra environment
// (KEY=value), failing the test with the script's output if it exits non-zero
// or outlives timeout. It returns standard output.
func RunPython(t testing.TB, timeout time.Duration, script string, env ...string) string {
	t.Helper()
	return Run(t, timeout, env, Python, script)
}

// Run runs a command with the extra environment, failing the test with its
// output if it exits non-zero or outlives timeout. It returns standard output.
func Run(t testing.TB, timeout time.Duration, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: still running after %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), timeout, stdout.String(), stderr.String())
	}
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("%s: %v", name, err)
		}
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// Get fetches url and returns the status code and body, failing the test if
// the request fails. Keep-alives are off, so no idle connection outlives the
// call (goleak would count its goroutines) or holds a server's shutdown.
func Get(t testing.TB, url string) (int, string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	response, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return response.StatusCode, string(body)
}

// WaitFor polls condition every millisecond until it holds, and fails the
// test if it does not within 10 s.
func WaitFor(t testing.TB, what string, condition func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !condition() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
