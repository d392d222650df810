package kafka

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// metrics are the front-end's own request series.
type metrics struct {
	requests     *prometheus.CounterVec
	requestBytes prometheus.Counter
	refused      prometheus.Counter
	byKey        map[int16]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gannet_kafka_requests_total",
			Help: "Kafka requests handled, by API.",
		}, []string{"api"}),
		requestBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gannet_kafka_request_bytes_total",
			Help: "Bytes of Kafka requests read, size prefixes included.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gannet_kafka_refused_requests_total",
			Help: "Kafka requests refused as malformed or unsupported; each closed its connection.",
		}),
		byKey: make(map[int16]prometheus.Counter),
	}
	for k := range apiVersions {
		m.byKey[int16(k)] = m.requests.WithLabelValues(kmsg.NameForKey(int16(k)))
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.requestBytes, m.refused} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// request counts one request; byKey is read-only after construction.
func (m *metrics) request(key int16) {
	if c, ok := m.byKey[key]; ok {
		c.Inc()
	}
}
