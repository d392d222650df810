package config_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gannet-mq/gannet/internal/config"
)

func TestResourceAlarmSettings(t *testing.T) {
	tests := []struct {
		name                    string
		args                    []string
		env                     map[string]string
		wantDisk                int64
		wantFraction            float64
		wantBytes               int64
		wantLoadErr, wantInvErr string // substrings; "" means none
	}{
		{name: "defaults are RabbitMQ's", wantDisk: 50_000_000, wantFraction: 0.4},
		{name: "disk limit flag with a suffix", args: []string{"--disk-free-limit", "1GiB"}, wantDisk: 1 << 30, wantFraction: 0.4},
		{name: "disk limit from the environment", env: map[string]string{"GANNET_DISK_FREE_LIMIT": "2000000"}, wantDisk: 2_000_000, wantFraction: 0.4},
		{name: "disk limit in RabbitMQ's decimal units", args: []string{"--disk-free-limit", "50MB"}, wantDisk: 50_000_000, wantFraction: 0.4},
		{name: "a zero disk limit is invalid", args: []string{"--disk-free-limit", "0"}, wantDisk: 0, wantFraction: 0.4, wantInvErr: "disk_free_limit is 0"},
		{name: "relative watermark", args: []string{"--memory-high-watermark", "0.6"}, wantDisk: 50_000_000, wantFraction: 0.6},
		{name: "one is all of the memory", env: map[string]string{"GANNET_MEMORY_HIGH_WATERMARK": "1"}, wantDisk: 50_000_000, wantFraction: 1},
		{name: "absolute watermark", args: []string{"--memory-high-watermark", "2GiB"}, wantDisk: 50_000_000, wantBytes: 2 << 30},
		{name: "absolute watermark in decimal units", args: []string{"--memory-high-watermark", "2GB"}, wantDisk: 50_000_000, wantBytes: 2_000_000_000},
		{name: "absolute watermark too large", args: []string{"--memory-high-watermark", "99999999999999999999"}, wantLoadErr: "too large"},
		{name: "absolute watermark in bytes", args: []string{"--memory-high-watermark", "1073741824"}, wantDisk: 50_000_000, wantBytes: 1 << 30},
		{name: "flag beats environment", args: []string{"--memory-high-watermark", "0.5"}, env: map[string]string{"GANNET_MEMORY_HIGH_WATERMARK": "4GiB"}, wantDisk: 50_000_000, wantFraction: 0.5},
		{name: "watermark that is neither", args: []string{"--memory-high-watermark", "lots"}, wantLoadErr: "neither a fraction"},
		{name: "fraction above one", args: []string{"--memory-high-watermark", "1.5"}, wantDisk: 50_000_000, wantFraction: 1.5, wantInvErr: "memory_high_watermark 1.5"},
		{name: "zero fraction", args: []string{"--memory-high-watermark", "0"}, wantDisk: 50_000_000, wantInvErr: "memory_high_watermark 0"},
		{name: "negative fraction", args: []string{"--memory-high-watermark", "-3"}, wantDisk: 50_000_000, wantFraction: -3, wantInvErr: "memory_high_watermark -3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(tt.args, env(tt.env), &bytes.Buffer{})
			if tt.wantLoadErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantLoadErr) {
					t.Fatalf("Load error = %v, want one containing %q", err, tt.wantLoadErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.DiskFreeLimit != tt.wantDisk || c.MemoryHighWatermark != tt.wantFraction || c.MemoryHighWatermarkBytes != tt.wantBytes {
				t.Fatalf("got disk %d, watermark %v / %d bytes; want %d, %v / %d",
					c.DiskFreeLimit, c.MemoryHighWatermark, c.MemoryHighWatermarkBytes, tt.wantDisk, tt.wantFraction, tt.wantBytes)
			}
			err = c.Validate()
			switch {
			case tt.wantInvErr == "" && err != nil:
				t.Fatalf("Validate = %v", err)
			case tt.wantInvErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantInvErr)):
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.wantInvErr)
			}
		})
	}
}

// A Config built in code, not parsed, can hold a negative size, which the
// server would turn into an unreachable limit.
func TestNegativeMemoryWatermarkBytesIsInvalid(t *testing.T) {
	c := config.Default()
	c.MemoryHighWatermarkBytes = -1
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "memory_high_watermark is -1 bytes") {
		t.Fatalf("Validate = %v", err)
	}
}

func TestResourceAlarmSettingsFromFileAndHelp(t *testing.T) {
	c, err := config.Load([]string{"--config", writeFile(t, "disk_free_limit: 1MiB\nmemory_high_watermark: 0.25\n")}, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.DiskFreeLimit != 1<<20 || c.MemoryHighWatermark != 0.25 {
		t.Fatalf("from file: %d, %v", c.DiskFreeLimit, c.MemoryHighWatermark)
	}
	var output bytes.Buffer
	if _, err := config.Load([]string{"-h"}, env(nil), &output); !config.IsHelp(err) {
		t.Fatal(err)
	}
	for _, want := range []string{"-disk-free-limit", "GANNET_DISK_FREE_LIMIT", `default "50000000"`,
		"-memory-high-watermark", "GANNET_MEMORY_HIGH_WATERMARK", `default "0.4"`} {
		if !strings.Contains(output.String(), want) {
			t.Errorf("usage does not mention %s", want)
		}
	}
}

// disk_free_limit takes every size form RabbitMQ 3.13 does (SI units are
// powers of 1000, IEC ones powers of 1024, either letter case) and refuses
// anything else with an error that shows the forms.
func TestDiskFreeLimitUnits(t *testing.T) {
	for _, tt := range []struct {
		value   string
		want    int64
		wantErr string
	}{
		{value: "123", want: 123},
		{value: "500kB", want: 500_000},
		{value: "500KB", want: 500_000},
		{value: "50MB", want: 50_000_000},
		{value: "50mb", want: 50_000_000},
		{value: "1GB", want: 1_000_000_000},
		{value: "2TB", want: 2_000_000_000_000},
		{value: "1k", want: 1000},
		{value: "3M", want: 3_000_000},
		{value: "1G", want: 1_000_000_000},
		{value: "1P", want: 1_000_000_000_000_000},
		{value: "2KiB", want: 2 << 10},
		{value: "2kiB", want: 2 << 10},
		{value: "50MiB", want: 50 << 20},
		{value: "50MIB", want: 50 << 20},
		{value: "4Gi", want: 4 << 30},
		{value: "1GiB", want: 1 << 30},
		{value: "2TiB", want: 2 << 40},
		{value: "1PiB", want: 1 << 50},
		{value: " 50 MB ", want: 50_000_000},
		{value: "50XB", wantErr: "not a size; write a whole number of bytes, optionally with a unit: kB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)"},
		{value: "MB", wantErr: "not a size"},
		{value: "1.5GB", wantErr: "not a size"},
		{value: "-1", wantErr: "not a size"},
		{value: "fifty", wantErr: "not a size"},
		{value: "", wantErr: "not a size"},
		{value: "50MB50", wantErr: "not a size"},
		{value: "9999PB", wantErr: "too large"},
		{value: "99999999999999999999", wantErr: "too large"},
	} {
		c, err := config.Load([]string{"--disk-free-limit=" + tt.value}, env(nil), &bytes.Buffer{})
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "disk-free-limit") {
				t.Errorf("%q: Load error = %v, want one naming the flag and containing %q", tt.value, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("%q: %v", tt.value, err)
		case c.DiskFreeLimit != tt.want:
			t.Errorf("%q = %d bytes, want %d", tt.value, c.DiskFreeLimit, tt.want)
		}
	}
}
