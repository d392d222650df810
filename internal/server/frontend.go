package server

import (
	"context"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gannet-mq/gannet/internal/alarm"
	"github.com/gannet-mq/gannet/internal/amqp"
	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/clock"
	"github.com/gannet-mq/gannet/internal/config"
	"github.com/gannet-mq/gannet/internal/kafka"
	redisserver "github.com/gannet-mq/gannet/internal/redis/server"
	"github.com/gannet-mq/gannet/internal/sqs"
)

// Frontend serves one wire protocol (AMQP, Kafka, Redis, SQS) on a listener
// the server opened. It has the shape of http.Server on purpose, so that the
// SQS front-end can be an http.Server and the others can follow one pattern.
type Frontend interface {
	// Serve accepts connections on listener until Shutdown is called, then
	// returns. It returns an error only if serving failed; after Shutdown
	// it returns nil, net.ErrClosed or http.ErrServerClosed.
	Serve(listener net.Listener) error
	// Shutdown stops accepting (closing the listener), lets open
	// connections finish what they are doing, and cuts those still open when
	// ctx ends. It must return by then.
	Shutdown(ctx context.Context) error
}

// FrontendDeps is everything a front-end constructor is given. Front-ends
// depend on the broker core and the resource alarms, nothing else in Gannet.
type FrontendDeps struct {
	Broker *broker.Broker
	Logger *slog.Logger
	// Registerer takes the front-end's own request-level series.
	Registerer prometheus.Registerer
	// Connections is this protocol's gannet_connections gauge: Inc on
	// accept, Dec on close.
	Connections prometheus.Gauge
	// Addr is the address actually bound, which differs from the
	// configured one when the port was 0.
	Addr            net.Addr
	MaxMessageBytes int
	// AdvertisedAddr is what Kafka metadata tells clients to dial; empty
	// means Addr. Only the Kafka front-end reads it.
	AdvertisedAddr string
	// Alarms are the server's one memory and disk alarm monitor; each
	// front-end holds or refuses writes that add data while one is raised.
	Alarms *alarm.Monitor
	// Clock is the broker's clock; the front-ends that keep protocol time
	// of their own (Kafka, Redis, SQS) read it so that both agree.
	Clock clock.Clock
}

// NewFrontend builds a front-end; it must not start goroutines before Serve.
type NewFrontend func(FrontendDeps) (Frontend, error)

// protocolListener is one configurable protocol listener.
type protocolListener struct {
	protocol string // "amqp"; also the gannet_connections label
	flag     string // the flag that sets its address, for error messages
	addr     string // from the config; empty means off
}

func protocolListeners(cfg config.Config) []protocolListener {
	return []protocolListener{
		{protocol: "amqp", flag: "--amqp-addr", addr: cfg.AMQPAddr},
		{protocol: "kafka", flag: "--kafka-addr", addr: cfg.KafkaAddr},
		{protocol: "redis", flag: "--redis-addr", addr: cfg.RedisAddr},
		{protocol: "sqs", flag: "--sqs-addr", addr: cfg.SQSAddr},
	}
}

// builtFrontends maps a protocol to its front-end constructor. A configured
// listener with no entry is logged and not started.
func builtFrontends() map[string]NewFrontend {
	return map[string]NewFrontend{
		// One entry per built front-end, each adapting FrontendDeps to the
		// package's own constructor (front-ends do not import this package).
		"amqp": func(d FrontendDeps) (Frontend, error) {
			return amqp.New(amqp.Config{Broker: d.Broker, Logger: d.Logger, Connections: d.Connections,
				MaxMessageBytes: d.MaxMessageBytes, Alarms: d.Alarms})
		},
		"kafka": func(d FrontendDeps) (Frontend, error) {
			return kafka.New(kafka.Config{Broker: d.Broker, Logger: d.Logger, Registerer: d.Registerer,
				Connections: d.Connections, Addr: d.Addr, AdvertisedAddr: d.AdvertisedAddr,
				MaxMessageBytes: d.MaxMessageBytes, Alarms: d.Alarms, Clock: d.Clock})
		},
		"redis": func(d FrontendDeps) (Frontend, error) {
			return redisserver.New(redisserver.Deps{Broker: d.Broker, Logger: d.Logger, Connections: d.Connections,
				MaxMessageBytes: d.MaxMessageBytes, Alarms: d.Alarms, Clock: d.Clock})
		},
		"sqs": func(d FrontendDeps) (Frontend, error) {
			return sqs.New(sqs.Config{Broker: d.Broker, Logger: d.Logger, Connections: d.Connections,
				MaxMessageBytes: d.MaxMessageBytes, Alarms: d.Alarms, Clock: d.Clock})
		},
	}
}
