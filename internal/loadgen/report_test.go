package loadgen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func okResult(workload, system, protocol string, msgs float64, p99 int64) Result {
	cfg := DefaultConfig()
	cfg.Protocol, cfg.Addr = protocol, "127.0.0.1:1"
	return Result{Workload: workload, System: system, Status: StatusOK, Config: cfg, MsgsPerSec: msgs,
		BytesPerSec: msgs * 1024, Latency: Latency{Count: 10, P50us: p99 / 2, P99us: p99, P999us: p99, MaxUs: p99}}
}

func TestReportShowsRatiosAndCharts(t *testing.T) {
	fixed := okResult("redis-rate-5k", "redis-everysec", "redis", 5000, 4000)
	fixed.Config.Rate = 5000
	gannetFixed := okResult("redis-rate-5k", "gannet", "redis", 5000, 1000)
	gannetFixed.Config.Rate = 5000
	results := []Result{
		okResult("amqp-peak", "gannet", "amqp", 30000, 5000),
		okResult("amqp-peak", "rabbitmq", "amqp", 15000, 30000),
		{Workload: "log-peak", System: "gannet", Status: StatusUnavailable, Error: "not available yet", Config: Config{Protocol: "kafka"}},
		okResult("log-peak", "nats-jetstream", "nats", 40000, 9000),
		fixed, gannetFixed,
		{Workload: "redis-restart", System: "redis-everysec", Status: StatusOK, RestartSeconds: 2.5, Config: Config{Protocol: "redis"}},
	}
	charts := map[string]string{}
	md := RenderReport(results, Environment{Date: "2026-01-02", Quick: true, Versions: map[string]string{"redis": "7.0.15"}}, "test box", "bench", charts)

	for _, want := range []string{
		"- Date: 2026-01-02", "- Machine: test box", "redis 7.0.15", "`--quick`",
		"## amqp-peak", "| rabbitmq | amqp | ok | 15000 |", "| 2.00× |", // throughput: 30000 / 15000
		"## log-peak", "unavailable: not available yet", "Gannet: not available yet for this workload",
		"## redis-rate-5k", "| 4.00× |", // p99: 4 ms / 1 ms, lower is better
		"## redis-restart", "2.50 s",
		"![amqp-peak: throughput](bench/amqp-peak.svg)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	svg := charts["amqp-peak.svg"]
	if strings.Count(svg, "<rect") != 3 { // background + two bars
		t.Errorf("amqp-peak chart has %d rects, want a background and 2 bars:\n%s", strings.Count(svg, "<rect"), svg)
	}
	if !strings.Contains(svg, "30000 msg/s") || !strings.Contains(svg, "higher is better") {
		t.Errorf("amqp-peak chart lacks its values or direction:\n%s", svg)
	}
	if !strings.Contains(charts["redis-rate-5k.svg"], "p99 latency") || !strings.Contains(charts["redis-rate-5k.svg"], "lower is better") {
		t.Error("a fixed-rate workload is not charted by p99 latency")
	}
	if _, ok := charts["log-peak.svg"]; !ok {
		t.Error("log-peak has a measured peer but no chart")
	}
}

func TestWriteReportReadsADirectory(t *testing.T) {
	dir := t.TempDir()
	if err := okResult("redis-peak", "redis-always", "redis", 1234, 100).WriteJSON(filepath.Join(dir, "01-redis.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, environmentFile), []byte(`{"date":"today","versions":{"nats-server":"2.9.10"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "docs", "benchmarks.md")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteReport(dir, out, ""); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "| redis-always | redis | ok | 1234 |") || !strings.Contains(string(md), "nats-server 2.9.10") {
		t.Errorf("report misses the result or the environment:\n%s", md)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(out), "bench", "redis-peak.svg")); err != nil {
		t.Errorf("chart not written: %v", err)
	}
	if err := WriteReport(t.TempDir(), out, ""); err == nil {
		t.Error("an empty results directory rendered a report")
	}
}
