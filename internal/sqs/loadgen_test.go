package sqs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/clock"
	"github.com/gannet-mq/gannet/internal/loadgen"
)

// TestLoadgenSmoke runs gannet-bench's SQS workload for a moment against
// the front-end: every confirmed message is consumed once.
func TestLoadgenSmoke(t *testing.T) {
	e := startEnvClock(t, t.TempDir(), clock.Real()) // a real load runs on real time
	cfg := loadgen.DefaultConfig()
	cfg.Protocol, cfg.Addr = "sqs", strings.TrimPrefix(e.endpoint, "http://")
	cfg.Duration, cfg.DrainTimeout = time.Second, 10*time.Second
	cfg.Producers, cfg.Consumers = 2, 4
	res, err := loadgen.Run(context.Background(), cfg, loadgen.Meta{Workload: "smoke", System: "gannet"})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.Summary())
	if res.Status != loadgen.StatusOK || res.Confirmed == 0 || res.Missing != 0 {
		t.Fatalf("status %s, %d confirmed, %d missing", res.Status, res.Confirmed, res.Missing)
	}
}
