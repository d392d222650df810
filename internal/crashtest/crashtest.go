// Package crashtest kills a broker process with SIGKILL at random instants
// and collects what it acknowledged before each kill, so a test can prove
// that nothing acknowledged was lost.
//
// The child process prints one line per acknowledged write, starting with
// "ACK ". Run starts it, lets it work for a random time, kills it without
// warning, and repeats. A test usually makes its own test binary the child:
// Rerun re-executes it with a data directory, Child (called from TestMain)
// runs the child's body there, and the body prints with Ack and gives up
// with Fail. The parent then reopens the directory and checks every line.
package crashtest

import (
	"bufio"
	"math/rand"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options configures Run.
type Options struct {
	Rounds int // how many times to start and kill the child; 0 means 20
	// Command returns a fresh, unstarted child for a round.
	Command func(round int) *exec.Cmd
	// MinAcks is how many acknowledgements a round waits for before the
	// kill timer starts, so every round kills a child under load.
	MinAcks int
	// MaxDelay bounds the random time between MinAcks and the kill; 0 means 300ms.
	MaxDelay time.Duration
	Seed     int64
}

// Run returns every acknowledged line (without the "ACK " prefix) in the
// order the child printed them, round after round.
func Run(t testing.TB, opts Options) []string {
	t.Helper()
	if opts.Rounds == 0 {
		opts.Rounds = 20
	}
	if opts.MaxDelay == 0 {
		opts.MaxDelay = 300 * time.Millisecond
	}
	rng := rand.New(rand.NewSource(opts.Seed))
	var acks []string
	for round := 0; round < opts.Rounds; round++ {
		acks = append(acks, runRound(t, opts, round, time.Duration(rng.Int63n(int64(opts.MaxDelay))))...)
	}
	return acks
}

func runRound(t testing.TB, opts Options, round int, delay time.Duration) []string {
	t.Helper()
	cmd := opts.Command(round)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("crashtest: %v", err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("crashtest: starting child: %v", err)
	}
	var (
		mu      sync.Mutex
		acks    []string
		reached = make(chan struct{})
		once    sync.Once
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "ACK ") {
				continue
			}
			mu.Lock()
			acks = append(acks, strings.TrimPrefix(line, "ACK "))
			n := len(acks)
			mu.Unlock()
			if n >= opts.MinAcks {
				once.Do(func() { close(reached) })
			}
		}
	}()
	select {
	case <-reached:
	case <-done:
		cmd.Wait()
		t.Fatalf("crashtest: round %d: child exited before %d acks: %s", round, opts.MinAcks, stderr.String())
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("crashtest: round %d: no %d acks within 60s: %s", round, opts.MinAcks, stderr.String())
	}
	time.Sleep(delay) // the random instant of the crash: this is the point of the test
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("crashtest: kill: %v", err)
	}
	<-done
	cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	return acks
}
