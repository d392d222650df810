package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/config"
)

// env returns a lookup function over a fixed map, standing in for os.LookupEnv.
func env(values map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := values[name]
		return v, ok
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gannet.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultIsValid(t *testing.T) {
	if err := config.Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v, want nil", err)
	}
}

func TestLoadPrecedence(t *testing.T) {
	file := writeFile(t, `
data_dir: /from/file
amqp_addr: ":1111"
kafka_addr: ":2222"
redis_addr: ":3333"
fsync: interval
fsync_interval: 250ms
max_message_bytes: 2MiB
segment_bytes: 64MiB
`)
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c config.Config)
	}{
		{
			name: "defaults when nothing is set",
			check: func(t *testing.T, c config.Config) {
				if c != config.Default() {
					t.Errorf("got %+v, want Default()", c)
				}
			},
		},
		{
			name: "file overrides defaults",
			args: []string{"--config", file},
			check: func(t *testing.T, c config.Config) {
				want := config.Default()
				want.DataDir, want.AMQPAddr, want.KafkaAddr, want.RedisAddr = "/from/file", ":1111", ":2222", ":3333"
				want.Fsync, want.FsyncInterval, want.MaxMessageBytes, want.SegmentBytes = "interval", 250*time.Millisecond, 2<<20, 64<<20
				if c != want {
					t.Errorf("got %+v\nwant %+v", c, want)
				}
			},
		},
		{
			name: "config file named by GANNET_CONFIG",
			env:  map[string]string{"GANNET_CONFIG": file},
			check: func(t *testing.T, c config.Config) {
				if c.DataDir != "/from/file" {
					t.Errorf("DataDir = %q, want /from/file", c.DataDir)
				}
			},
		},
		{
			name: "environment overrides file",
			args: []string{"--config", file},
			env:  map[string]string{"GANNET_AMQP_ADDR": ":4444", "GANNET_FSYNC": "never"},
			check: func(t *testing.T, c config.Config) {
				if c.AMQPAddr != ":4444" || c.Fsync != "never" {
					t.Errorf("AMQPAddr, Fsync = %q, %q; want :4444, never", c.AMQPAddr, c.Fsync)
				}
				if c.KafkaAddr != ":2222" {
					t.Errorf("KafkaAddr = %q, want the file's :2222", c.KafkaAddr)
				}
			},
		},
		{
			name: "flags override environment and file",
			args: []string{"--config", file, "--amqp-addr", ":5555", "--kafka-advertised-addr=kafka.local:9092", "--shutdown-timeout", "3s"},
			env:  map[string]string{"GANNET_AMQP_ADDR": ":4444", "GANNET_KAFKA_ADDR": ":6666"},
			check: func(t *testing.T, c config.Config) {
				if c.AMQPAddr != ":5555" {
					t.Errorf("AMQPAddr = %q, want the flag's :5555", c.AMQPAddr)
				}
				if c.KafkaAddr != ":6666" {
					t.Errorf("KafkaAddr = %q, want the environment's :6666", c.KafkaAddr)
				}
				if c.KafkaAdvertisedAddr != "kafka.local:9092" || c.ShutdownTimeout != 3*time.Second {
					t.Errorf("KafkaAdvertisedAddr, ShutdownTimeout = %q, %s", c.KafkaAdvertisedAddr, c.ShutdownTimeout)
				}
			},
		},
		{
			name: "empty flag turns a listener off even when env sets it",
			args: []string{"--redis-addr="},
			env:  map[string]string{"GANNET_REDIS_ADDR": ":7777"},
			check: func(t *testing.T, c config.Config) {
				if c.RedisAddr != "" {
					t.Errorf("RedisAddr = %q, want empty", c.RedisAddr)
				}
			},
		},
		{
			name: "empty environment variable turns a listener off",
			env:  map[string]string{"GANNET_SQS_ADDR": ""},
			check: func(t *testing.T, c config.Config) {
				if c.SQSAddr != "" || c.HTTPAddr != config.DefaultHTTPAddr {
					t.Errorf("SQSAddr, HTTPAddr = %q, %q; want empty, default", c.SQSAddr, c.HTTPAddr)
				}
			},
		},
		{
			name: "empty and null file values turn listeners off",
			args: []string{"--config", writeFile(t, "sqs_addr: \"\"\nkafka_addr:\n")},
			check: func(t *testing.T, c config.Config) {
				if c.SQSAddr != "" || c.KafkaAddr != "" || c.AMQPAddr != config.DefaultAMQPAddr {
					t.Errorf("SQSAddr, KafkaAddr, AMQPAddr = %q, %q, %q", c.SQSAddr, c.KafkaAddr, c.AMQPAddr)
				}
			},
		},
		{
			name: "last flag wins",
			args: []string{"--data-dir", "/a", "--data-dir", "/b"},
			check: func(t *testing.T, c config.Config) {
				if c.DataDir != "/b" {
					t.Errorf("DataDir = %q, want /b", c.DataDir)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var output bytes.Buffer
			c, err := config.Load(tt.args, env(tt.env), &output)
			if err != nil {
				t.Fatalf("Load: %v (output %q)", err, output.String())
			}
			tt.check(t, c)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr []string // substrings the error must contain
	}{
		{
			name:    "unknown file key is named with its line",
			args:    []string{"--config", writeFile(t, "data_dir: /x\namqp_adr: :1\n")},
			wantErr: []string{`unknown key "amqp_adr"`, "line 2", "amqp_addr"},
		},
		{
			name:    "dashed file key suggests the underscore spelling",
			args:    []string{"--config", writeFile(t, "data-dir: /x\n")},
			wantErr: []string{`unknown key "data-dir"`, `did you mean "data_dir"`},
		},
		{
			name:    "duplicate file key",
			args:    []string{"--config", writeFile(t, "fsync: always\nfsync: never\n")},
			wantErr: []string{`key "fsync" is already set on line 1`},
		},
		{
			name:    "non-scalar file value",
			args:    []string{"--config", writeFile(t, "amqp_addr: [a, b]\n")},
			wantErr: []string{`key "amqp_addr" needs a single value`},
		},
		{
			name:    "top level is not a mapping",
			args:    []string{"--config", writeFile(t, "- a\n- b\n")},
			wantErr: []string{"expected key: value pairs"},
		},
		{
			name:    "bad duration in file",
			args:    []string{"--config", writeFile(t, "fsync_interval: soon\n")},
			wantErr: []string{`key "fsync_interval"`, "not a duration"},
		},
		{
			name:    "missing config file",
			args:    []string{"--config", filepath.Join(t.TempDir(), "absent.yaml")},
			wantErr: []string{"reading config file", "absent.yaml"},
		},
		{
			name:    "bad size in environment",
			env:     map[string]string{"GANNET_MAX_MESSAGE_BYTES": "1MB"},
			wantErr: []string{"GANNET_MAX_MESSAGE_BYTES", "not a size"},
		},
		{
			name:    "bad duration flag",
			args:    []string{"--shutdown-timeout", "forever"},
			wantErr: []string{"shutdown-timeout", "not a duration"},
		},
		{
			name:    "unknown flag",
			args:    []string{"--amqp-address", ":1"},
			wantErr: []string{"amqp-address"},
		},
		{
			name:    "positional argument",
			args:    []string{"now"},
			wantErr: []string{`unexpected argument "now"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(tt.args, env(tt.env), &bytes.Buffer{})
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestLoadHelpListsEveryFlagAndVariable(t *testing.T) {
	var output bytes.Buffer
	_, err := config.Load([]string{"-h"}, env(nil), &output)
	if !config.IsHelp(err) {
		t.Fatalf("Load(-h) error = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"-data-dir", "-amqp-addr", "-kafka-advertised-addr", "-http-addr", "-fsync", "GANNET_SQS_ADDR", "-config"} {
		if !strings.Contains(output.String(), want) {
			t.Errorf("usage does not mention %s:\n%s", want, output.String())
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		modify  func(c *config.Config)
		wantErr []string // nil means valid
	}{
		{name: "every listener off", modify: func(c *config.Config) {
			c.AMQPAddr, c.KafkaAddr, c.RedisAddr, c.SQSAddr, c.HTTPAddr = "", "", "", "", ""
		}},
		{name: "port zero on every listener", modify: func(c *config.Config) {
			c.AMQPAddr, c.KafkaAddr, c.RedisAddr, c.SQSAddr, c.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		}},
		{name: "same port on different hosts", modify: func(c *config.Config) {
			c.AMQPAddr, c.KafkaAddr = "127.0.0.1:7000", "127.0.0.2:7000"
		}},
		{name: "interval with a positive interval", modify: func(c *config.Config) { c.Fsync = "interval" }},
		{name: "empty fsync means always, as in the broker", modify: func(c *config.Config) { c.Fsync = "" }},
		{
			name:    "empty data dir",
			modify:  func(c *config.Config) { c.DataDir = "" },
			wantErr: []string{"data_dir is empty"},
		},
		{
			name:    "address without port",
			modify:  func(c *config.Config) { c.AMQPAddr = "localhost" },
			wantErr: []string{`amqp_addr "localhost"`, "host:port"},
		},
		{
			name:    "port out of range",
			modify:  func(c *config.Config) { c.RedisAddr = ":70000" },
			wantErr: []string{`redis_addr ":70000"`, "0 to 65535"},
		},
		{
			name:    "two listeners on one port",
			modify:  func(c *config.Config) { c.SQSAddr = "0.0.0.0:5672" },
			wantErr: []string{"amqp_addr and sqs_addr both listen on port 5672"},
		},
		{
			name:    "advertised address without host",
			modify:  func(c *config.Config) { c.KafkaAdvertisedAddr = ":9092" },
			wantErr: []string{"kafka_advertised_addr", "needs both a host"},
		},
		{
			name:    "unknown fsync mode",
			modify:  func(c *config.Config) { c.Fsync = "sometimes" },
			wantErr: []string{`fsync "sometimes"`},
		},
		{
			name:    "interval without an interval",
			modify:  func(c *config.Config) { c.Fsync, c.FsyncInterval = "interval", 0 },
			wantErr: []string{"fsync_interval"},
		},
		{
			name:    "message larger than a segment",
			modify:  func(c *config.Config) { c.MaxMessageBytes, c.SegmentBytes = 2<<20, 1<<20 },
			wantErr: []string{"max_message_bytes (2097152) must be smaller than segment_bytes (1048576)"},
		},
		{
			name:    "non-positive sizes",
			modify:  func(c *config.Config) { c.MaxMessageBytes, c.SegmentBytes = 0, -1 },
			wantErr: []string{"max_message_bytes is 0", "segment_bytes is -1"},
		},
		{
			name:    "log settings and timeout",
			modify:  func(c *config.Config) { c.LogLevel, c.LogFormat, c.ShutdownTimeout = "loud", "xml", 0 },
			wantErr: []string{`log_level "loud"`, `log_format "xml"`, "shutdown_timeout"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			tt.modify(&c)
			before := c
			err := c.Validate()
			if c != before {
				t.Errorf("Validate changed the config: %+v -> %+v", before, c)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestNewLoggerHonoursLevelAndFormat(t *testing.T) {
	c := config.Default()
	c.LogLevel, c.LogFormat = "warn", "json"
	var output bytes.Buffer
	logger := c.NewLogger(&output)
	logger.Info("hidden")
	logger.Warn("shown", "queue", "orders")
	got := output.String()
	if strings.Contains(got, "hidden") {
		t.Errorf("info record written at warn level: %q", got)
	}
	if !strings.Contains(got, `"msg":"shown"`) || !strings.Contains(got, `"queue":"orders"`) {
		t.Errorf("want one JSON record with msg and queue, got %q", got)
	}
}
