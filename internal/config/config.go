// Package config holds the settings of one Gannet server and reads them from
// four sources, each overriding the one before: built-in defaults, a YAML
// file (--config or GANNET_CONFIG), GANNET_* environment variables and
// command-line flags.
//
// Loading and validation are separate steps: Load only parses, Validate only
// reports (it never changes the Config), and Default gives the starting point.
// Every listener address may be set to the empty string, which turns that
// listener off; an address that is not set anywhere keeps its default.
package config

import (
	"time"

	"github.com/gannet-mq/gannet/internal/alarm"
	"github.com/gannet-mq/gannet/internal/broker"
)

// Config is everything a server needs to start. settings.go names each field
// as a config-file key, a GANNET_* variable and a flag.
type Config struct {
	// DataDir holds every log and the state journal.
	DataDir string

	// Listener addresses in host:port form. Empty turns a listener off;
	// port 0 picks a free port (used by tests and the embedded broker).
	AMQPAddr  string
	KafkaAddr string
	// KafkaAdvertisedAddr is the host:port Kafka clients are told to
	// connect to in metadata responses; empty means the bound address.
	KafkaAdvertisedAddr string
	RedisAddr           string
	SQSAddr             string
	HTTPAddr            string

	// Fsync is "always" (acknowledge only what is on disk), "interval" or
	// "never". The last two are weaker: a crash can lose acknowledged data.
	// broker.ParseFsyncPolicy reads it, so empty means always.
	Fsync         string
	FsyncInterval time.Duration

	MaxMessageBytes int
	SegmentBytes    int64

	// DiskFreeLimit raises the disk alarm while the data volume has less
	// free space than this, in bytes (RabbitMQ's disk_free_limit).
	DiskFreeLimit int64
	// MemoryHighWatermark raises the memory alarm while the process uses
	// more than this fraction of the machine's memory (or of the process's
	// cgroup limit, when lower); RabbitMQ's vm_memory_high_watermark. It is 0
	// when MemoryHighWatermarkBytes sets an absolute limit instead.
	MemoryHighWatermark      float64
	MemoryHighWatermarkBytes int64

	LogLevel  string // debug, info, warn or error
	LogFormat string // text or json

	// ShutdownTimeout bounds the drain on SIGTERM: after it, remaining
	// connections are cut and the broker is closed anyway.
	ShutdownTimeout time.Duration
}

// Default values, exported so that documentation and tests can name them.
const (
	DefaultDataDir         = "./data"
	DefaultAMQPAddr        = ":5672"
	DefaultKafkaAddr       = ":9092"
	DefaultRedisAddr       = ":6379"
	DefaultSQSAddr         = ":9324"
	DefaultHTTPAddr        = ":15672"
	DefaultFsync           = "always"
	DefaultFsyncInterval   = time.Second
	DefaultMaxMessageBytes = broker.DefaultMaxMessageBytes // 1 MiB, the article's limit
	DefaultSegmentBytes    = broker.DefaultSegmentBytes    // 64 MiB
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "text"
	DefaultShutdownTimeout = 30 * time.Second
)

// Resource alarm defaults, RabbitMQ's: 50 MB free, 40% of memory.
const (
	DefaultDiskFreeLimit       = alarm.DefaultDiskFreeLimit
	DefaultMemoryHighWatermark = alarm.DefaultMemoryHighWatermark
)

// Default returns the configuration used when nothing else is given: every
// listener on its usual port, data in ./data, fsync before acknowledging.
func Default() Config {
	return Config{
		DataDir:         DefaultDataDir,
		AMQPAddr:        DefaultAMQPAddr,
		KafkaAddr:       DefaultKafkaAddr,
		RedisAddr:       DefaultRedisAddr,
		SQSAddr:         DefaultSQSAddr,
		HTTPAddr:        DefaultHTTPAddr,
		Fsync:           DefaultFsync,
		FsyncInterval:   DefaultFsyncInterval,
		MaxMessageBytes: DefaultMaxMessageBytes,
		SegmentBytes:    DefaultSegmentBytes,
		DiskFreeLimit:   DefaultDiskFreeLimit,
		LogLevel:        DefaultLogLevel,
		LogFormat:       DefaultLogFormat,
		ShutdownTimeout: DefaultShutdownTimeout,

		MemoryHighWatermark: DefaultMemoryHighWatermark,
	}
}
