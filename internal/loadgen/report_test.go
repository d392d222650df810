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
		{Workload: "log-queues-1000", System: "gannet", Status: StatusError, Error: "lost records", Config: Config{Protocol: "kafka"}},
		okResult("log-queues-1000", "nats-jetstream", "nats", 8000, 90000),
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
		"## log-queues-1000", "error: lost records", "Gannet failed this workload",
		"![amqp-peak: throughput](bench/amqp-peak.svg)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	_, failed, _ := strings.Cut(md, "## log-queues-1000")
	failed, _, _ = strings.Cut(failed, "\n## ")
	if strings.Contains(failed, "not available yet") {
		t.Errorf("a workload Gannet failed says Gannet is not available:\n%s", failed)
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

func TestReportBars(t *testing.T) {
	backlog := okResult("log-backlog", "gannet", "kafka", 50000, 0)
	backlog.Config.Backlog, backlog.Config.Count, backlog.PeakRSSBytes = true, 1_000_000, 200<<20
	bigRSS := okResult("amqp-backlog", "gannet", "amqp", 50000, 0)
	bigRSS.Config.Backlog, bigRSS.Config.Count, bigRSS.PeakRSSBytes = true, 100_000, 900<<20
	results := []Result{
		okResult("amqp-peak", "gannet", "amqp", 30000, 5000),
		okResult("amqp-peak", "rabbitmq", "amqp", 15000, 30000),
		okResult("log-peak", "gannet", "kafka", 300000, 2000), // 307.2 MB/s
		okResult("log-peak", "nats-jetstream", "nats", 50000, 9000),
		okResult("sqs-peak", "gannet", "sqs", 25000, 9000),
		{Workload: "redis-peak", System: "gannet", Status: StatusUnavailable, Error: "not available yet", Config: Config{Protocol: "redis"}},
		okResult("redis-peak", "redis-everysec", "redis", 100000, 9000),
		backlog, bigRSS,
	}
	env := Environment{Date: "2026-01-02", DiskFdatasyncMBps: 400,
		DiskLarge: &DiskResult{Config: DiskConfig{Block: 1 << 20}, MBPerSec: 1600, SyncP50us: 450}}
	md := RenderReport(results, env, "test box", "bench", map[string]string{})

	for _, want := range []string{
		"## Bars",
		"| AMQP throughput | amqp-peak | 30000 vs 15000 msg/s (2.00×) | Gannet msg/s ≥ 5 × rabbitmq msg/s | not met |",
		"| AMQP latency | amqp-peak | 5.00ms vs 30.0ms | Gannet p99 < rabbitmq p99 | met |",
		"| Redis Streams throughput | redis-peak | gannet: unavailable | Gannet msg/s ≥ 1.5 × redis-everysec msg/s | not run |",
		"| Kafka throughput | log-peak | 300000 vs 50000 msg/s (6.00×) | Gannet msg/s ≥ 3 × nats-jetstream msg/s | met |",
		"| Kafka disk bandwidth | log-peak | 307.2 of 400.0 MB/s (77%); 19% of the 1600.0 MB/s of 1MiB writes |",
		"| SQS throughput | sqs-peak | 25000 msg/s | Gannet msg/s ≥ 20,000 | met |",
		"| Memory under backlog | log-backlog | 200 MiB peak; 1000000 × 1024 B = 1.02 GB backlog |",
		"| Memory under backlog | amqp-backlog | 900 MiB peak; 100000 × 1024 B = 0.10 GB backlog |",
		"| Memory under backlog | redis-backlog | no gannet result |",
		"- Disk: 400.0 MB/s",
		"; with writes of 1MiB it reaches 1600.0 MB/s (fdatasync p50 450µs)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	row := func(prefix string) string {
		for _, line := range strings.Split(md, "\n") {
			if strings.HasPrefix(line, prefix) {
				return line
			}
		}
		t.Fatalf("no row %q in:\n%s", prefix, md)
		return ""
	}
	for prefix, outcome := range map[string]string{
		"| Kafka disk bandwidth |":                 "| met |",
		"| Memory under backlog | log-backlog |":   "| met |",
		"| Memory under backlog | amqp-backlog |":  "| not met |",
		"| Memory under backlog | redis-backlog |": "| not run |",
	} {
		if got := row(prefix); !strings.HasSuffix(got, outcome) {
			t.Errorf("row %q does not end in %q", got, outcome)
		}
	}
	if bars, first := strings.Index(md, "## Bars"), strings.Index(md, "## amqp-peak"); bars < 0 || bars > first {
		t.Error("the Bars section is not above the workloads")
	}

	// Without the disk figure the disk bar is not measured; a small backlog
	// under the limit decides nothing.
	small := backlog
	small.Config.Count = 100_000
	md = RenderReport([]Result{results[2], small}, Environment{}, "test box", "bench", map[string]string{})
	if !strings.Contains(md, "| Kafka disk bandwidth | log-peak | 307.2 MB/s; disk bandwidth not measured |") ||
		!strings.HasSuffix(row("| Kafka disk bandwidth |"), "| not measured |") {
		t.Errorf("a missing disk figure is not reported as not measured:\n%s", md)
	}
	if !strings.Contains(row("| Memory under backlog | log-backlog |"), "| inconclusive") {
		t.Error("a 0.1 GB backlog under the RSS limit was judged")
	}
	if !strings.HasSuffix(row("| AMQP throughput |"), "| not run |") {
		t.Error("a missing amqp-peak is not reported as not run")
	}
}
