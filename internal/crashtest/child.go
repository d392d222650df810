package crashtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
)

// The environment that makes a re-executed test binary a crash child.
const (
	dirEnv   = "GANNET_CRASHTEST_DIR"
	roundEnv = "GANNET_CRASHTEST_ROUND"
)

// Rerun is an Options.Command that starts the running test binary again,
// running no tests, as a child working in dir. The child's TestMain hands
// over to the body it passes to Child.
func Rerun(dir string) func(round int) *exec.Cmd {
	return func(round int) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), dirEnv+"="+dir, roundEnv+"="+strconv.Itoa(round))
		return cmd
	}
}

// Child runs body with the data directory and round number, and reports
// true, when the test binary was started by Rerun; otherwise it reports
// false at once. Call it first in TestMain:
//
//	func TestMain(m *testing.M) {
//		if crashtest.Child(runCrashChild) {
//			return
//		}
//		os.Exit(m.Run())
//	}
//
// body runs until the parent kills it; if it returns, the child exits.
func Child(body func(dir string, round int)) bool {
	dir := os.Getenv(dirEnv)
	if dir == "" {
		return false
	}
	round, err := strconv.Atoi(os.Getenv(roundEnv))
	if err != nil {
		Fail("round", err)
	}
	body(dir, round)
	return true
}

var ackMu sync.Mutex

// Ack prints one "ACK " line for Run to collect. Call it only once the
// broker has acknowledged what the line names; it is safe for concurrent use.
func Ack(format string, args ...any) {
	line := fmt.Sprintf("ACK "+format+"\n", args...)
	ackMu.Lock()
	defer ackMu.Unlock()
	os.Stdout.WriteString(line)
}

// Fail ends a child that cannot carry on, with what failed on stderr; Run
// reports it if it happens before the round's kill.
func Fail(what string, err error) {
	fmt.Fprintln(os.Stderr, what+":", err)
	os.Exit(1)
}

// Listen opens a loopback listener on a free port for the child's broker.
func Listen() net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		Fail("listen", err)
	}
	return l
}
