// Package metrics turns broker events and Stats snapshots into Prometheus
// series on a registry it is given (never the global one).
//
// Two families of series are exported. The article's series keep the names
// the article uses, so its dashboards and alert rules work unchanged:
//
//	mq_message_produced{queue}        counter, records appended
//	mq_message_consumed{queue,group}  counter, records settled (acked)
//	mq_message_pending{queue}         gauge, records not yet settled
//	mq_message_latency{queue}         histogram, seconds from append to ack
//
// The counters deliberately have no _total suffix: the article's rules query
// mq_message_produced, and the Prometheus text format (which the /metrics
// handler serves) exposes a client_golang counter under exactly its name.
//
// Broker series start with gannet_ and describe the engine: appends, fsyncs,
// disk use, connections, dead letters, redeliveries, consumer lag and
// in-flight deliveries. Counters and histograms are updated by the broker
// through the broker.Observer methods; gauges are computed at scrape time
// from one Stats snapshot, so the hot path never touches them.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gannet-mq/gannet/internal/broker"
)

// StatsSource gives the snapshot that scrape-time gauges are computed from.
// *broker.Broker satisfies it.
type StatsSource interface {
	Stats() broker.Stats
}

// StatsFunc adapts a function to StatsSource, for a source that is created
// after the metrics (the broker needs its Observer before it exists).
type StatsFunc func() broker.Stats

// Stats calls f.
func (f StatsFunc) Stats() broker.Stats { return f() }

// Metrics implements broker.Observer and owns every Gannet series.
type Metrics struct {
	produced *prometheus.CounterVec
	consumed *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	appends        *prometheus.CounterVec
	appendedBytes  *prometheus.CounterVec
	fsyncDuration  prometheus.Histogram
	fsyncBytes     prometheus.Counter
	fsyncErrors    prometheus.Counter
	deadLetters    *prometheus.CounterVec
	redeliveries   *prometheus.CounterVec
	connections    *prometheus.GaugeVec
	snapshotGauges *statsCollector

	// byStream and consumedIn cache each stream's children of the vectors
	// that Produced (per append) and Consumed (per acknowledged record,
	// under the group's lock) update, so those look up once instead of
	// hashing labels once per vector. They are separate so that a series
	// appears only once its own event has happened.
	byStream   sync.Map // stream -> *appendSeries
	consumedIn sync.Map // stream -> *consumeSeries
}

// appendSeries holds one stream's children of the vectors Produced updates.
type appendSeries struct {
	produced, appends, appendedBytes prometheus.Counter
}

// consumeSeries holds one stream's children of the vectors Consumed updates.
type consumeSeries struct {
	latency prometheus.Observer
	byGroup sync.Map // group -> prometheus.Counter of mq_message_consumed
}

var _ broker.Observer = (*Metrics)(nil)

// New creates every series and registers it on reg. source is read once per
// scrape for the gauges. New panics if a series is already registered on reg,
// as prometheus.MustRegister does: that is a wiring bug, not a runtime
// condition.
func New(reg prometheus.Registerer, source StatsSource) *Metrics {
	m := &Metrics{
		produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mq_message_produced",
			Help: "Messages produced: records appended to a queue or stream.",
		}, []string{"queue"}),
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mq_message_consumed",
			Help: "Messages consumed: records settled (acknowledged) by a group.",
		}, []string{"queue", "group"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mq_message_latency",
			Help: "Message latency in seconds, from append to acknowledgement.",
			// From 1 ms to about 9 hours: consumers that fall behind for
			// hours are exactly what this series has to show.
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 12),
		}, []string{"queue"}),
		appends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gannet_appends_total",
			Help: "Append operations (one batch of records each) per stream.",
		}, []string{"stream"}),
		appendedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gannet_appended_bytes_total",
			Help: "Bytes of records appended per stream.",
		}, []string{"stream"}),
		fsyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gannet_fsync_duration_seconds",
			Help: "Time taken by each fsync of a log.",
			// From 50 µs (battery-backed cache) to about 3 s (a stalled disk).
			Buckets: prometheus.ExponentialBuckets(0.00005, 3, 11),
		}),
		fsyncBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gannet_fsync_bytes_total",
			Help: "Bytes made durable by fsyncs.",
		}),
		fsyncErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gannet_fsync_errors_total",
			Help: "Fsyncs that failed. Any increase means acknowledged data may not be on disk; check the disk and the logs.",
		}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gannet_dead_letters_total",
			Help: "Records moved to a dead-letter target, by source queue and reason.",
		}, []string{"queue", "reason"}),
		redeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gannet_redeliveries_total",
			Help: "Records handed out again after a release or an expired lease.",
		}, []string{"queue", "group"}),
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gannet_connections",
			Help: "Open client connections per protocol.",
		}, []string{"protocol"}),
		snapshotGauges: newStatsCollector(source),
	}
	collectors := []prometheus.Collector{
		m.produced, m.consumed, m.latency,
		m.appends, m.appendedBytes, m.fsyncDuration, m.fsyncBytes, m.fsyncErrors,
		m.deadLetters, m.redeliveries, m.connections, m.snapshotGauges,
	}
	for _, c := range collectors {
		reg.MustRegister(c)
	}
	return m
}

// Produced implements broker.Observer.
func (m *Metrics) Produced(stream string, records, bytes int) {
	series := m.appendSeriesOf(stream)
	series.produced.Add(float64(records))
	series.appends.Inc()
	series.appendedBytes.Add(float64(bytes))
}

func (m *Metrics) appendSeriesOf(stream string) *appendSeries {
	if series, ok := m.byStream.Load(stream); ok {
		return series.(*appendSeries)
	}
	series, _ := m.byStream.LoadOrStore(stream, &appendSeries{
		produced:      m.produced.WithLabelValues(stream),
		appends:       m.appends.WithLabelValues(stream),
		appendedBytes: m.appendedBytes.WithLabelValues(stream),
	})
	return series.(*appendSeries)
}

// Consumed implements broker.Observer.
func (m *Metrics) Consumed(stream, group string, latency time.Duration) {
	cached, ok := m.consumedIn.Load(stream)
	if !ok {
		cached, _ = m.consumedIn.LoadOrStore(stream, &consumeSeries{latency: m.latency.WithLabelValues(stream)})
	}
	series := cached.(*consumeSeries)
	consumed, ok := series.byGroup.Load(group)
	if !ok {
		consumed, _ = series.byGroup.LoadOrStore(group, m.consumed.WithLabelValues(stream, groupLabel(stream, group)))
	}
	consumed.(prometheus.Counter).Inc()
	series.latency.Observe(latency.Seconds())
}

// Redelivered implements broker.Observer.
func (m *Metrics) Redelivered(stream, group string) {
	m.redeliveries.WithLabelValues(stream, groupLabel(stream, group)).Inc()
}

// DeadLettered implements broker.Observer. The group is not a label: dead
// letters are investigated per queue and reason, and one fewer label keeps
// the series count down.
func (m *Metrics) DeadLettered(stream, group, reason string) {
	m.deadLetters.WithLabelValues(stream, reason).Inc()
}

// Synced implements broker.Observer.
func (m *Metrics) Synced(d time.Duration, bytes int64, err error) {
	m.fsyncDuration.Observe(d.Seconds())
	if err != nil {
		m.fsyncErrors.Inc()
		return
	}
	m.fsyncBytes.Add(float64(bytes))
}

// groupLabel names a group in series. The core names a queue's own group ""
// and Prometheus treats an empty label as no label at all, so such a group
// is shown under its queue's name, which is what an AMQP or SQS user calls it.
func groupLabel(stream, group string) string {
	if group == "" {
		return stream
	}
	return group
}

// Connections returns the open-connections gauge for one protocol ("amqp",
// "kafka", "redis", "sqs"). Front-ends Inc it on accept and Dec it on close.
func (m *Metrics) Connections(protocol string) prometheus.Gauge {
	return m.connections.WithLabelValues(protocol)
}

// Names returns the name of every metric family New registers, for checks
// such as "every series the alert rules use exists".
func Names() []string {
	return []string{
		"mq_message_produced", "mq_message_consumed", "mq_message_pending", "mq_message_latency",
		"gannet_appends_total", "gannet_appended_bytes_total",
		"gannet_fsync_duration_seconds", "gannet_fsync_bytes_total", "gannet_fsync_errors_total",
		"gannet_dead_letters_total", "gannet_redeliveries_total", "gannet_connections",
		"gannet_disk_bytes", "gannet_stream_records", "gannet_stream_bytes",
		"gannet_consumers", "gannet_consumer_lag", "gannet_consumer_in_flight",
	}
}
