package server

import (
	"os"
	"runtime/pprof"
	"testing"
	"time"
)

// TestSmokeServe serves on a random port for a manual load run
// (GANNET_REDIS_SMOKE=seconds), writing the address to
// $GANNET_REDIS_SMOKE_ADDR and a CPU profile to $GANNET_REDIS_SMOKE_PROFILE.
func TestSmokeServe(t *testing.T) {
	secs := os.Getenv("GANNET_REDIS_SMOKE")
	if secs == "" {
		t.Skip("manual load target; set GANNET_REDIS_SMOKE=seconds")
	}
	d, err := time.ParseDuration(secs + "s")
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, "")
	if p := os.Getenv("GANNET_REDIS_SMOKE_PROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	os.WriteFile(os.Getenv("GANNET_REDIS_SMOKE_ADDR"), []byte(ts.addr), 0o644)
	time.Sleep(d)
}
