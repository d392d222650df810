package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// setting is one configurable field. Its key is the config-file key; the flag
// and environment variable names are derived from it so that the three
// spellings can never drift apart.
type setting struct {
	key   string // config-file key, for example "amqp_addr"
	usage string
	// apply parses value and stores it in c; it reports what was wrong with
	// the value, not where it came from (the caller adds that).
	apply func(c *Config, value string) error
	// show renders the field's current value, for --help and error messages.
	show func(c Config) string
}

// flagName is the command-line spelling: --amqp-addr.
func (s setting) flagName() string { return strings.ReplaceAll(s.key, "_", "-") }

// envName is the environment spelling: GANNET_AMQP_ADDR.
func (s setting) envName() string { return "GANNET_" + strings.ToUpper(s.key) }

// settings lists every configurable field, in the order --help shows them.
func settings() []setting {
	return []setting{
		stringSetting("data_dir", "directory that holds every log and the state journal",
			func(c *Config) *string { return &c.DataDir }),
		stringSetting("amqp_addr", "AMQP 0-9-1 listen address (empty turns it off)",
			func(c *Config) *string { return &c.AMQPAddr }),
		stringSetting("kafka_addr", "Kafka listen address (empty turns it off)",
			func(c *Config) *string { return &c.KafkaAddr }),
		stringSetting("kafka_advertised_addr", "host:port Kafka clients are told to connect to (empty means the bound address)",
			func(c *Config) *string { return &c.KafkaAdvertisedAddr }),
		stringSetting("redis_addr", "Redis (RESP) listen address (empty turns it off)",
			func(c *Config) *string { return &c.RedisAddr }),
		stringSetting("sqs_addr", "SQS HTTP API listen address (empty turns it off)",
			func(c *Config) *string { return &c.SQSAddr }),
		stringSetting("http_addr", "HTTP listen address for /metrics, /healthz and /readyz (empty turns it off)",
			func(c *Config) *string { return &c.HTTPAddr }),
		stringSetting("fsync", "when to fsync: always (acknowledged means on disk), interval or never (both weaker)",
			func(c *Config) *string { return &c.Fsync }),
		durationSetting("fsync_interval", "how often to fsync when fsync is interval, for example 200ms",
			func(c *Config) *time.Duration { return &c.FsyncInterval }),
		{
			key:   "max_message_bytes",
			usage: "largest message accepted, in bytes or with a KiB/MiB/GiB suffix",
			apply: func(c *Config, value string) error {
				n, err := parseByteSize(value)
				if err != nil {
					return err
				}
				if n > math.MaxInt {
					return fmt.Errorf("%d bytes does not fit in an int on this platform", n)
				}
				c.MaxMessageBytes = int(n)
				return nil
			},
			show: func(c Config) string { return strconv.Itoa(c.MaxMessageBytes) },
		},
		sizeSetting("segment_bytes", "size at which a log segment is rolled, in bytes or with a KiB/MiB/GiB suffix",
			parseByteSize, func(c *Config) *int64 { return &c.SegmentBytes }),
		sizeSetting("disk_free_limit", "free space on the data volume below which writes that add data are held or refused (RabbitMQ's disk_free_limit): "+
			"bytes, or a size in RabbitMQ's units such as 50MB, 1GB, 500kB (powers of 1000) or 50MiB, 1GiB (powers of 1024)",
			parseInformationUnit, func(c *Config) *int64 { return &c.DiskFreeLimit }),
		{
			key: "memory_high_watermark",
			usage: "memory use above which writes that add data are held or refused (RabbitMQ's vm_memory_high_watermark): " +
				"a fraction of the machine's memory, or of the cgroup limit when lower, such as 0.4; " +
				"or a size in RabbitMQ's units such as 2GB (powers of 1000) or 2GiB (powers of 1024)",
			apply: func(c *Config, value string) error {
				fraction, bytes, err := parseWatermark(value)
				if err != nil {
					return err
				}
				c.MemoryHighWatermark, c.MemoryHighWatermarkBytes = fraction, bytes
				return nil
			},
			show: func(c Config) string {
				if c.MemoryHighWatermarkBytes > 0 {
					return strconv.FormatInt(c.MemoryHighWatermarkBytes, 10)
				}
				return strconv.FormatFloat(c.MemoryHighWatermark, 'g', -1, 64)
			},
		},
		stringSetting("log_level", "log level: debug, info, warn or error",
			func(c *Config) *string { return &c.LogLevel }),
		stringSetting("log_format", "log format: text or json",
			func(c *Config) *string { return &c.LogFormat }),
		durationSetting("shutdown_timeout", "how long SIGTERM waits for connections to drain before cutting them",
			func(c *Config) *time.Duration { return &c.ShutdownTimeout }),
	}
}

func stringSetting(key, usage string, field func(*Config) *string) setting {
	return setting{
		key:   key,
		usage: usage,
		apply: func(c *Config, value string) error {
			*field(c) = value
			return nil
		},
		show: func(c Config) string { return *field(&c) },
	}
}

func durationSetting(key, usage string, field func(*Config) *time.Duration) setting {
	return setting{
		key:   key,
		usage: usage,
		apply: func(c *Config, value string) error {
			d, err := time.ParseDuration(value)
			if err != nil {
				return fmt.Errorf("%q is not a duration; write it like 500ms, 1s or 2m", value)
			}
			*field(c) = d
			return nil
		},
		show: func(c Config) string { return field(&c).String() },
	}
}

// sizeSetting is a byte count that parse reads (parseByteSize, or
// parseInformationUnit for the RabbitMQ settings).
func sizeSetting(key, usage string, parse func(string) (int64, error), field func(*Config) *int64) setting {
	return setting{
		key:   key,
		usage: usage,
		apply: func(c *Config, value string) error {
			n, err := parse(value)
			if err != nil {
				return err
			}
			*field(c) = n
			return nil
		},
		show: func(c Config) string { return strconv.FormatInt(*field(&c), 10) },
	}
}

// parseByteSize reads a plain byte count or one with a binary suffix
// (KiB, MiB, GiB). Decimal suffixes are refused rather than guessed at;
// only the RabbitMQ settings take RabbitMQ's units (parseInformationUnit),
// whose meaning RabbitMQ defines.
func parseByteSize(value string) (int64, error) {
	text := strings.TrimSpace(value)
	multiplier := int64(1)
	for _, unit := range []struct {
		suffix string
		factor int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if number, ok := strings.CutSuffix(text, unit.suffix); ok {
			text, multiplier = strings.TrimSpace(number), unit.factor
			break
		}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size; write a whole number of bytes, optionally with KiB, MiB or GiB (for example 1MiB)", value)
	}
	if n > 0 && n > (1<<62)/multiplier {
		return 0, fmt.Errorf("%q is too large", value)
	}
	return n * multiplier, nil
}

// informationUnits are the size units RabbitMQ 3.13 takes for
// disk_free_limit and vm_memory_high_watermark (parse_information_unit),
// matched without regard to case: the bare letters and the B forms are
// powers of 1000 (as in Kubernetes), the i and iB forms powers of 1024.
var informationUnits = map[string]int64{
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
	"t": 1e12, "tb": 1e12, "p": 1e15, "pb": 1e15,
	"ki": 1 << 10, "kib": 1 << 10, "mi": 1 << 20, "mib": 1 << 20, "gi": 1 << 30, "gib": 1 << 30,
	"ti": 1 << 40, "tib": 1 << 40, "pi": 1 << 50, "pib": 1 << 50,
}

// parseInformationUnit reads a size as RabbitMQ's disk_free_limit takes it:
// a whole number of bytes, optionally followed by one of informationUnits.
func parseInformationUnit(value string) (int64, error) {
	text := strings.TrimSpace(value)
	digits := len(text) - len(strings.TrimLeft(text, "0123456789"))
	number, unit := text[:digits], strings.TrimSpace(text[digits:])
	multiplier := int64(1)
	if unit != "" {
		multiplier = informationUnits[strings.ToLower(unit)]
	}
	n, err := strconv.ParseInt(number, 10, 64)
	if multiplier == 0 || (err != nil && !errors.Is(err, strconv.ErrRange)) {
		return 0, fmt.Errorf("%q is not a size; write a whole number of bytes, optionally with a unit: "+
			"kB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), for example 50MB or 1GiB", value)
	}
	if err != nil || n > math.MaxInt64/multiplier {
		return 0, fmt.Errorf("%q is %w", value, errSizeTooLarge)
	}
	return n * multiplier, nil
}

var errSizeTooLarge = errors.New("too large")

// parseWatermark reads memory_high_watermark, which is RabbitMQ's
// vm_memory_high_watermark.relative and .absolute in one setting: a whole
// number above 1 or a value with a size unit is an absolute size in
// bytes; anything else is a fraction of the machine's memory ("1" is all
// of it, not one byte). Validate checks the range.
func parseWatermark(value string) (fraction float64, bytes int64, err error) {
	n, sizeErr := parseInformationUnit(value)
	switch {
	case sizeErr == nil && n > 1:
		return 0, n, nil
	case errors.Is(sizeErr, errSizeTooLarge):
		return 0, 0, sizeErr
	}
	fraction, err = strconv.ParseFloat(strings.TrimSpace(value), 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%q is neither a fraction of the machine's memory (such as 0.4) nor a size (such as 2GB or 2GiB)", value)
	}
	return fraction, 0, nil
}
