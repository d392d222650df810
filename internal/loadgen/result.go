package loadgen

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Statuses of a result.
const (
	StatusOK          = "ok"
	StatusUnavailable = "unavailable" // the target does not serve this protocol (yet)
	StatusError       = "error"
)

// Latency summarises a histogram in microseconds.
type Latency struct {
	Count  int64   `json:"count"`
	P50us  int64   `json:"p50_us"`
	P99us  int64   `json:"p99_us"`
	P999us int64   `json:"p999_us"`
	MaxUs  int64   `json:"max_us"`
	MeanUs float64 `json:"mean_us"`
}

func summarize(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		Count: h.TotalCount(), P50us: h.ValueAtQuantile(50), P99us: h.ValueAtQuantile(99),
		P999us: h.ValueAtQuantile(99.9), MaxUs: h.Max(), MeanUs: h.Mean(),
	}
}

// RSSSample is the broker's resident memory at a moment of the run.
type RSSSample struct {
	Seconds  float64 `json:"seconds"` // since the run started
	Phase    string  `json:"phase"`
	RSSBytes int64   `json:"rss_bytes"`
}

// Result is everything one run measured. The comparison script stores one
// per file and Report renders a directory of them.
type Result struct {
	Workload string `json:"workload"` // the scenario, e.g. "amqp-peak"
	System   string `json:"system"`   // e.g. "gannet", "rabbitmq"
	Status   string `json:"status"`
	Error    string `json:"error,omitempty"`
	Note     string `json:"note,omitempty"`
	Config   Config `json:"config"`

	StartedAt      time.Time `json:"started_at"`
	PublishSeconds float64   `json:"publish_seconds"`
	ElapsedSeconds float64   `json:"elapsed_seconds"`

	Produced      int64 `json:"produced"`
	Confirmed     int64 `json:"confirmed"`
	Failed        int64 `json:"failed"`
	Consumed      int64 `json:"consumed"`
	Unique        int64 `json:"unique"`
	Duplicates    int64 `json:"duplicates"`
	Missing       int64 `json:"missing"`
	Malformed     int64 `json:"malformed"`
	DrainTimedOut bool  `json:"drain_timed_out"`

	// MsgsPerSec is end to end: consumed per second when there are
	// consumers, confirmed per second otherwise.
	MsgsPerSec        float64 `json:"msgs_per_sec"`
	BytesPerSec       float64 `json:"bytes_per_sec"`
	PublishMsgsPerSec float64 `json:"publish_msgs_per_sec"`
	ConsumeMsgsPerSec float64 `json:"consume_msgs_per_sec"`

	Latency Latency `json:"latency"`

	BrokerCPUSeconds         float64 `json:"broker_cpu_seconds"`
	BrokerCPUMicrosPerMsg    float64 `json:"broker_cpu_us_per_msg"` // per message published
	GeneratorCPUSeconds      float64 `json:"generator_cpu_seconds"`
	GeneratorCPUMicrosPerMsg float64 `json:"generator_cpu_us_per_msg"`

	PeakRSSBytes int64       `json:"peak_rss_bytes"`
	RSS          []RSSSample `json:"rss,omitempty"`

	RestartSeconds float64 `json:"restart_seconds,omitempty"` // set by Await
}

// Summary is the one line the command prints.
func (r Result) Summary() string {
	if r.Status != StatusOK {
		return fmt.Sprintf("%s %s %s: %s %s", r.Workload, r.System, r.Config.Protocol, r.Status, r.Error)
	}
	if r.RestartSeconds > 0 {
		return fmt.Sprintf("%s %s %s: ready after %.2f s", r.Workload, r.System, r.Config.Protocol, r.RestartSeconds)
	}
	s := fmt.Sprintf("%s %s %s: %.0f msg/s %.1f MB/s | publish %.0f msg/s | produced %d confirmed %d consumed %d dup %d missing %d",
		r.Workload, r.System, r.Config.Protocol, r.MsgsPerSec, r.BytesPerSec/1e6, r.PublishMsgsPerSec,
		r.Produced, r.Confirmed, r.Consumed, r.Duplicates, r.Missing)
	if r.Latency.Count > 0 {
		s += fmt.Sprintf(" | latency p50 %s p99 %s p99.9 %s max %s", micros(r.Latency.P50us),
			micros(r.Latency.P99us), micros(r.Latency.P999us), micros(r.Latency.MaxUs))
	}
	if r.BrokerCPUSeconds > 0 {
		s += fmt.Sprintf(" | broker %.1f µs CPU/msg", r.BrokerCPUMicrosPerMsg)
	}
	s += fmt.Sprintf(" | generator %.1f µs CPU/msg", r.GeneratorCPUMicrosPerMsg)
	if r.PeakRSSBytes > 0 {
		s += fmt.Sprintf(" | broker peak RSS %.0f MiB", float64(r.PeakRSSBytes)/(1<<20))
	}
	if r.DrainTimedOut {
		s += " | DRAIN TIMED OUT"
	}
	return s
}

// micros formats a microsecond count with a unit that keeps it short.
func micros(us int64) string {
	switch {
	case us >= 10_000_000:
		return fmt.Sprintf("%.1fs", float64(us)/1e6)
	case us >= 10_000:
		return fmt.Sprintf("%.1fms", float64(us)/1e3)
	case us >= 1_000:
		return fmt.Sprintf("%.2fms", float64(us)/1e3)
	}
	return fmt.Sprintf("%dµs", us)
}

// WriteJSON stores r at path.
func (r Result) WriteJSON(path string) error { return writeJSON(path, r) }

// writeJSON stores v at path as indented JSON, the form the comparison
// script keeps and Report reads back.
func writeJSON(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(raw, '\n'), 0o644)
}

// ReadResult loads a result stored by WriteJSON.
func ReadResult(path string) (Result, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Result{}, err
	}
	var r Result
	if err := json.Unmarshal(raw, &r); err != nil {
		return Result{}, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}
