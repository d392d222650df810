package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gannet-mq/gannet/internal/broker"
)

// statsCollector computes gauges from one broker.Stats snapshot per scrape.
// Doing this at scrape time, rather than keeping gauges up to date on every
// append and ack, keeps the broker's hot paths free of metric updates and
// means a deleted queue's series disappear on the next scrape.
type statsCollector struct {
	source StatsSource

	pending       *prometheus.Desc
	diskBytes     *prometheus.Desc
	streamRecords *prometheus.Desc
	streamBytes   *prometheus.Desc
	consumers     *prometheus.Desc
	lag           *prometheus.Desc
	inFlight      *prometheus.Desc
}

func newStatsCollector(source StatsSource) *statsCollector {
	return &statsCollector{
		source: source,
		pending: prometheus.NewDesc("mq_message_pending",
			"Pending messages: records of a queue or stream that its slowest group has not settled yet.",
			[]string{"queue"}, nil),
		diskBytes: prometheus.NewDesc("gannet_disk_bytes",
			"Bytes on disk used by every log and the state journal.", nil, nil),
		streamRecords: prometheus.NewDesc("gannet_stream_records",
			"Records retained on disk per stream.", []string{"stream"}, nil),
		streamBytes: prometheus.NewDesc("gannet_stream_bytes",
			"Bytes retained on disk per stream.", []string{"stream"}, nil),
		consumers: prometheus.NewDesc("gannet_consumers",
			"Consumers attached to a group.", []string{"stream", "group"}, nil),
		lag: prometheus.NewDesc("gannet_consumer_lag",
			"Records a group is behind the end of the stream, summed over partitions.", []string{"stream", "group"}, nil),
		inFlight: prometheus.NewDesc("gannet_consumer_in_flight",
			"Records delivered to a group's consumers and not settled yet.", []string{"stream", "group"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(descs chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.pending, c.diskBytes, c.streamRecords, c.streamBytes, c.consumers, c.lag, c.inFlight} {
		descs <- d
	}
}

// Collect implements prometheus.Collector.
func (c *statsCollector) Collect(metrics chan<- prometheus.Metric) {
	stats := c.source.Stats()
	gauge := func(desc *prometheus.Desc, value int64, labels ...string) {
		metrics <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(value), labels...)
	}
	gauge(c.diskBytes, stats.DiskBytes)
	for _, stream := range stats.Streams {
		gauge(c.streamRecords, stream.Records, stream.Name)
		gauge(c.streamBytes, stream.Bytes, stream.Name)
		if pending, ok := pendingRecords(stream); ok {
			gauge(c.pending, pending, stream.Name)
		}
		for _, group := range stream.Groups {
			name := groupLabel(stream.Name, group.Name)
			gauge(c.consumers, int64(group.Consumers), stream.Name, name)
			gauge(c.lag, group.Lag, stream.Name, name)
			if group.Kind == broker.GroupShared {
				gauge(c.inFlight, group.InFlight, stream.Name, name)
			}
		}
	}
}

// pendingRecords is the article's "pending messages" for one stream: what
// the slowest group still has to settle. A queue with no group listed counts
// every retained record, since a queue keeps records only until they are
// settled. A topic nobody reads has no pending series at all: nothing is
// waiting for a consumer that does not exist.
func pendingRecords(stream broker.StreamStats) (int64, bool) {
	if len(stream.Groups) == 0 {
		if stream.Kind == broker.KindQueue {
			return stream.Records, true
		}
		return 0, false
	}
	var slowest int64
	for _, group := range stream.Groups {
		slowest = max(slowest, group.Backlog)
	}
	return slowest, true
}
