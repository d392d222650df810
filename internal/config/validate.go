package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"

	"github.com/gannet-mq/gannet/internal/broker"
)

// listenAddr names a listen address by its config key, for error messages.
type listenAddr struct {
	key  string // config-file key, for example "amqp_addr"
	addr string
}

// listenAddrs returns every listen address in a fixed order, including those
// turned off (empty addr).
func (c Config) listenAddrs() []listenAddr {
	return []listenAddr{
		{"amqp_addr", c.AMQPAddr},
		{"kafka_addr", c.KafkaAddr},
		{"redis_addr", c.RedisAddr},
		{"sqs_addr", c.SQSAddr},
		{"http_addr", c.HTTPAddr},
	}
}

// Validate reports every problem in c at once, each saying which setting is
// wrong and how to fix it. It never changes c.
func (c Config) Validate() error {
	var problems []error
	report := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf("config: "+format, args...))
	}

	if c.DataDir == "" {
		report("data_dir is empty; set --data-dir (or GANNET_DATA_DIR) to the directory that should hold the logs")
	}

	type bound struct {
		key  string
		host string
		port int
	}
	var listening []bound
	for _, l := range c.listenAddrs() {
		if l.addr == "" {
			continue
		}
		host, port, err := splitAddr(l.addr)
		if err != nil {
			report("%s %q: %v; write host:port such as :5672 or 127.0.0.1:5672, or leave it empty to turn the listener off", l.key, l.addr, err)
			continue
		}
		for _, other := range listening {
			if port != 0 && port == other.port && hostsOverlap(host, other.host) {
				report("%s and %s both listen on port %d; give each listener its own port", other.key, l.key, port)
			}
		}
		listening = append(listening, bound{l.key, host, port})
	}
	if c.KafkaAdvertisedAddr != "" {
		host, port, err := splitAddr(c.KafkaAdvertisedAddr)
		switch {
		case err != nil:
			report("kafka_advertised_addr %q: %v; write the host:port clients should dial, such as broker.example.com:9092", c.KafkaAdvertisedAddr, err)
		case host == "" || port == 0:
			report("kafka_advertised_addr %q needs both a host and a non-zero port, because clients dial it as given", c.KafkaAdvertisedAddr)
		}
	}

	if policy, err := broker.ParseFsyncPolicy(c.Fsync); err != nil {
		report("fsync %q is not a mode; use always (the default and the durability contract), interval or never", c.Fsync)
	} else if policy == broker.FsyncInterval && c.FsyncInterval <= 0 {
		report("fsync_interval is %s but fsync is interval; set a positive interval such as 1s", c.FsyncInterval)
	}

	if c.MaxMessageBytes <= 0 {
		report("max_message_bytes is %d; set a positive size such as 1MiB", c.MaxMessageBytes)
	}
	if c.SegmentBytes <= 0 {
		report("segment_bytes is %d; set a positive size such as 64MiB", c.SegmentBytes)
	} else if int64(c.MaxMessageBytes) >= c.SegmentBytes {
		report("max_message_bytes (%d) must be smaller than segment_bytes (%d) because a record never spans segments; lower one or raise the other",
			c.MaxMessageBytes, c.SegmentBytes)
	}

	if c.DiskFreeLimit <= 0 {
		report("disk_free_limit is %d; set a positive size such as 50MB (RabbitMQ's default) or 1GiB", c.DiskFreeLimit)
	}
	switch {
	case c.MemoryHighWatermarkBytes < 0:
		// The server hands the size on unsigned: a negative one would
		// turn the memory alarm off without a word.
		report("memory_high_watermark is %d bytes; set a positive size such as 2GiB, or a fraction such as 0.4", c.MemoryHighWatermarkBytes)
	case c.MemoryHighWatermarkBytes == 0 && !(c.MemoryHighWatermark > 0 && c.MemoryHighWatermark <= 1):
		report("memory_high_watermark %v is not a fraction above 0 and at most 1; write one such as 0.4, or a size such as 2GiB", c.MemoryHighWatermark)
	}

	if _, ok := parseLogLevel(c.LogLevel); !ok {
		report("log_level %q is not a level; use debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		report("log_format %q is not a format; use text or json", c.LogFormat)
	}
	if c.ShutdownTimeout <= 0 {
		report("shutdown_timeout is %s; set a positive duration such as 30s", c.ShutdownTimeout)
	}
	return errors.Join(problems...)
}

// splitAddr checks a host:port address with a numeric port.
func splitAddr(addr string) (host string, port int, err error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, errors.New("not a host:port address")
	}
	port, err = strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a number from 0 to 65535", portText)
	}
	return host, port, nil
}

// hostsOverlap reports whether two listen hosts can collide on one port: the
// same host, or either one a wildcard that binds every interface.
func hostsOverlap(a, b string) bool {
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return a == b || wildcard(a) || wildcard(b)
}

func parseLogLevel(level string) (slog.Level, bool) {
	switch level {
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return 0, false
}

// NewLogger returns the structured logger c asks for, writing to w. Call it
// on a validated Config; an unknown level or format falls back to info/text.
func (c Config) NewLogger(w io.Writer) *slog.Logger {
	level, _ := parseLogLevel(c.LogLevel)
	options := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, options))
	}
	return slog.New(slog.NewTextHandler(w, options))
}
