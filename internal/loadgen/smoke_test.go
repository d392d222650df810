package loadgen

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/testenv"
)

// TestRedisSmoke runs the Redis Streams workload for about a second against
// a real redis-server on a random loopback port. Without redis-server on
// PATH it skips, unless GANNET_E2E=1 demands it.
func TestRedisSmoke(t *testing.T) {
	bin := testenv.RequireTool(t, "redis-server")
	port := freePort(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "everysec")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	cfg := DefaultConfig()
	cfg.Protocol, cfg.Addr = "redis", fmt.Sprintf("127.0.0.1:%d", port)
	cfg.Duration, cfg.DrainTimeout, cfg.BrokerPID = time.Second, 10*time.Second, cmd.Process.Pid
	cfg.Producers, cfg.Groups = 2, 2
	ctx := context.Background()
	if _, err := Await(ctx, cfg, Meta{}, time.Now(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, cfg, Meta{Workload: "smoke", System: "redis"})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.Summary())
	if res.Status != StatusOK || res.Confirmed == 0 {
		t.Fatalf("status %s, %d confirmed", res.Status, res.Confirmed)
	}
	if res.Unique != 2*res.Confirmed || res.Missing != 0 || res.Duplicates != 0 {
		t.Errorf("confirmed %d, unique %d over 2 groups, missing %d, duplicates %d", res.Confirmed, res.Unique, res.Missing, res.Duplicates)
	}
	if res.Latency.Count != res.Consumed || res.BrokerCPUSeconds <= 0 || res.PeakRSSBytes <= 0 {
		t.Errorf("latency count %d of %d consumed, broker cpu %vs, peak rss %d",
			res.Latency.Count, res.Consumed, res.BrokerCPUSeconds, res.PeakRSSBytes)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
