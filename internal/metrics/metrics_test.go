package metrics_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/metrics"
)

// fixedStats is a StatsSource whose snapshot a test sets directly.
type fixedStats struct{ stats broker.Stats }

func (f *fixedStats) Stats() broker.Stats { return f.stats }

func newMetrics(t *testing.T) (*metrics.Metrics, *prometheus.Registry, *fixedStats) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	source := &fixedStats{}
	return metrics.New(reg, source), reg, source
}

func TestObserverEventsUpdateTheArticleSeries(t *testing.T) {
	m, reg, _ := newMetrics(t)

	m.Produced("order_queue", 3, 300)
	m.Produced("order_queue", 2, 200)
	m.Produced("audit", 1, 10)
	m.Consumed("order_queue", "billing", 20*time.Millisecond)
	m.Consumed("order_queue", "billing", 2*time.Second)
	m.Consumed("order_queue", "shipping", 20*time.Millisecond)
	m.Consumed("work", "", time.Millisecond) // a queue's own group

	want := `
# HELP mq_message_produced Messages produced: records appended to a queue or stream.
# TYPE mq_message_produced counter
mq_message_produced{queue="audit"} 1
mq_message_produced{queue="order_queue"} 5
# HELP mq_message_consumed Messages consumed: records settled (acknowledged) by a group.
# TYPE mq_message_consumed counter
mq_message_consumed{group="billing",queue="order_queue"} 2
mq_message_consumed{group="shipping",queue="order_queue"} 1
mq_message_consumed{group="work",queue="work"} 1
# HELP gannet_appends_total Append operations (one batch of records each) per stream.
# TYPE gannet_appends_total counter
gannet_appends_total{stream="audit"} 1
gannet_appends_total{stream="order_queue"} 2
# HELP gannet_appended_bytes_total Bytes of records appended per stream.
# TYPE gannet_appended_bytes_total counter
gannet_appended_bytes_total{stream="audit"} 10
gannet_appended_bytes_total{stream="order_queue"} 500
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"mq_message_produced", "mq_message_consumed", "gannet_appends_total", "gannet_appended_bytes_total"); err != nil {
		t.Error(err)
	}

	// The latency histogram is labelled by queue only and records seconds.
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	latency := findFamily(t, families, "mq_message_latency")
	if len(latency.GetMetric()) != 2 {
		t.Fatalf("mq_message_latency has %d series, want 2 (one per queue, no group label)", len(latency.GetMetric()))
	}
	histogram := latency.GetMetric()[0].GetHistogram() // order_queue sorts first
	if histogram.GetSampleCount() != 3 {
		t.Errorf("latency sample count = %d, want 3", histogram.GetSampleCount())
	}
	if got, want := histogram.GetSampleSum(), 2.04; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("latency sum = %v seconds, want %v", got, want)
	}
}

func TestObserverEventsUpdateTheBrokerSeries(t *testing.T) {
	m, reg, _ := newMetrics(t)

	m.Redelivered("order_queue", "billing")
	m.Redelivered("order_queue", "billing")
	m.Redelivered("work", "")
	m.DeadLettered("order_queue", "billing", "delivery_limit")
	m.DeadLettered("order_queue", "shipping", "delivery_limit")
	m.DeadLettered("order_queue", "billing", "rejected")
	m.Synced(2*time.Millisecond, 4096, nil)
	m.Synced(time.Second, 8192, errors.New("input/output error"))
	m.Connections("amqp").Inc()
	m.Connections("amqp").Inc()
	m.Connections("kafka").Inc()
	m.Connections("amqp").Dec()

	want := `
# HELP gannet_redeliveries_total Records handed out again after a release or an expired lease.
# TYPE gannet_redeliveries_total counter
gannet_redeliveries_total{group="billing",queue="order_queue"} 2
gannet_redeliveries_total{group="work",queue="work"} 1
# HELP gannet_dead_letters_total Records moved to a dead-letter target, by source queue and reason.
# TYPE gannet_dead_letters_total counter
gannet_dead_letters_total{queue="order_queue",reason="delivery_limit"} 2
gannet_dead_letters_total{queue="order_queue",reason="rejected"} 1
# HELP gannet_fsync_bytes_total Bytes made durable by fsyncs.
# TYPE gannet_fsync_bytes_total counter
gannet_fsync_bytes_total 4096
# HELP gannet_fsync_errors_total Fsyncs that failed. Any increase means acknowledged data may not be on disk; check the disk and the logs.
# TYPE gannet_fsync_errors_total counter
gannet_fsync_errors_total 1
# HELP gannet_connections Open client connections per protocol.
# TYPE gannet_connections gauge
gannet_connections{protocol="amqp"} 1
gannet_connections{protocol="kafka"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"gannet_redeliveries_total", "gannet_dead_letters_total", "gannet_fsync_bytes_total",
		"gannet_fsync_errors_total", "gannet_connections"); err != nil {
		t.Error(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	fsync := findFamily(t, families, "gannet_fsync_duration_seconds").GetMetric()[0].GetHistogram()
	if fsync.GetSampleCount() != 2 || fsync.GetSampleSum() < 1.002-1e-9 || fsync.GetSampleSum() > 1.002+1e-9 {
		t.Errorf("fsync histogram count, sum = %d, %v; want 2, 1.002 (failed fsyncs are timed too)",
			fsync.GetSampleCount(), fsync.GetSampleSum())
	}
}

func TestGaugesAreComputedFromStatsAtScrapeTime(t *testing.T) {
	_, reg, source := newMetrics(t)
	source.stats = broker.Stats{
		DiskBytes: 1 << 20,
		Streams: []broker.StreamStats{
			{
				Name: "order_queue", Kind: broker.KindQueue, Partitions: 1, Records: 1500, Bytes: 150000,
				Groups: []broker.GroupStats{
					// A queue's own group has no name in the core.
					{Name: "", Kind: broker.GroupShared, Consumers: 2, Backlog: 1200, InFlight: 7, Lag: 1193},
				},
			},
			{
				Name: "events", Kind: broker.KindTopic, Partitions: 3, Records: 9000, Bytes: 900000,
				Groups: []broker.GroupStats{
					{Name: "fast", Kind: broker.GroupCursor, Consumers: 1, Backlog: 10, Lag: 10},
					{Name: "slow", Kind: broker.GroupCursor, Consumers: 1, Backlog: 4000, Lag: 4000},
				},
			},
			// A queue whose group is not listed yet: every record is pending.
			{Name: "fresh_queue", Kind: broker.KindQueue, Partitions: 1, Records: 5, Bytes: 50},
			// A topic nobody reads: nothing is pending.
			{Name: "unread", Kind: broker.KindTopic, Partitions: 1, Records: 3, Bytes: 30},
		},
	}
	want := `
# HELP mq_message_pending Pending messages: records of a queue or stream that its slowest group has not settled yet.
# TYPE mq_message_pending gauge
mq_message_pending{queue="events"} 4000
mq_message_pending{queue="fresh_queue"} 5
mq_message_pending{queue="order_queue"} 1200
# HELP gannet_disk_bytes Bytes on disk used by every log and the state journal.
# TYPE gannet_disk_bytes gauge
gannet_disk_bytes 1.048576e+06
# HELP gannet_consumer_lag Records a group is behind the end of the stream, summed over partitions.
# TYPE gannet_consumer_lag gauge
gannet_consumer_lag{group="fast",stream="events"} 10
gannet_consumer_lag{group="order_queue",stream="order_queue"} 1193
gannet_consumer_lag{group="slow",stream="events"} 4000
# HELP gannet_consumer_in_flight Records delivered to a group's consumers and not settled yet.
# TYPE gannet_consumer_in_flight gauge
gannet_consumer_in_flight{group="order_queue",stream="order_queue"} 7
# HELP gannet_consumers Consumers attached to a group.
# TYPE gannet_consumers gauge
gannet_consumers{group="fast",stream="events"} 1
gannet_consumers{group="order_queue",stream="order_queue"} 2
gannet_consumers{group="slow",stream="events"} 1
# HELP gannet_stream_records Records retained on disk per stream.
# TYPE gannet_stream_records gauge
gannet_stream_records{stream="events"} 9000
gannet_stream_records{stream="fresh_queue"} 5
gannet_stream_records{stream="order_queue"} 1500
gannet_stream_records{stream="unread"} 3
`
	names := []string{"mq_message_pending", "gannet_disk_bytes", "gannet_consumer_lag",
		"gannet_consumer_in_flight", "gannet_consumers", "gannet_stream_records"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	// A later snapshot replaces the earlier one entirely: deleted streams
	// leave no stale series behind.
	source.stats = broker.Stats{Streams: []broker.StreamStats{{Name: "order_queue", Kind: broker.KindQueue, Records: 0}}}
	want = `
# HELP mq_message_pending Pending messages: records of a queue or stream that its slowest group has not settled yet.
# TYPE mq_message_pending gauge
mq_message_pending{queue="order_queue"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "mq_message_pending", "gannet_consumer_lag"); err != nil {
		t.Error(err)
	}
}

func TestNamesListsEveryRegisteredFamily(t *testing.T) {
	m, reg, source := newMetrics(t)
	// Touch every vector and give the snapshot one of everything, so that
	// every family has at least one series and shows up in Gather.
	m.Produced("q", 1, 1)
	m.Consumed("q", "g", time.Millisecond)
	m.Redelivered("q", "g")
	m.DeadLettered("q", "g", "rejected")
	m.Synced(time.Millisecond, 1, nil)
	m.Connections("amqp").Inc()
	source.stats = broker.Stats{DiskBytes: 1, Streams: []broker.StreamStats{{
		Name: "q", Kind: broker.KindQueue, Groups: []broker.GroupStats{{Name: "g", Kind: broker.GroupShared}},
	}}}

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var gathered []string
	for _, f := range families {
		gathered = append(gathered, f.GetName())
	}
	names := metrics.Names()
	slices.Sort(gathered)
	slices.Sort(names)
	if !slices.Equal(gathered, names) {
		t.Errorf("Names() = %v\nbut New registers %v", names, gathered)
	}
}

func TestNewRefusesASecondRegistrationOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics.New(reg, &fixedStats{})
	defer func() {
		if recover() == nil {
			t.Error("second New on the same registry did not panic; duplicate series would be silently merged")
		}
	}()
	metrics.New(reg, &fixedStats{})
}

func findFamily(t *testing.T, families []*dto.MetricFamily, name string) *dto.MetricFamily {
	t.Helper()
	for _, f := range families {
		if f.GetName() == name {
			return f
		}
	}
	t.Fatalf("no metric family %q gathered", name)
	return nil
}
