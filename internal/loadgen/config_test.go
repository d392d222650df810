package loadgen

import (
	"strings"
	"testing"
)

func TestCountIsSplitExactlyOverProducers(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Count, cfg.Producers = 1_000_003, 8
	var total int64
	for p := 0; p < cfg.Producers; p++ {
		n := cfg.perProducerCount(p)
		if n < 125_000 || n > 125_001 {
			t.Errorf("producer %d gets %d messages, not an even share", p, n)
		}
		total += n
	}
	if total != cfg.Count {
		t.Errorf("shares add up to %d, want %d", total, cfg.Count)
	}
}

func TestValidateExplainsBadSettings(t *testing.T) {
	base := DefaultConfig()
	base.Protocol, base.Addr = "redis", "127.0.0.1:1"
	if err := base.Validate(); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	for name, tc := range map[string]struct {
		edit func(*Config)
		want string
	}{
		"unknown protocol": {func(c *Config) { c.Protocol = "mqtt" }, "unknown protocol"},
		"tiny payload":     {func(c *Config) { c.Size = 8 }, "too small"},
		"sqs header":       {func(c *Config) { c.Protocol, c.Size = "sqs", 30 }, "40-byte header"},
		"backlog":          {func(c *Config) { c.Backlog = true }, "needs --count"},
		"no window":        {func(c *Config) { c.InFlight = 0 }, "inflight"},
		"no ack":           {func(c *Config) { c.AckEvery = 0 }, "--ack-every"},
		"ack past window":  {func(c *Config) { c.AckEvery = c.Prefetch + 1 }, "--ack-every"},
	} {
		c := base
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, tc.want)
		}
	}
}

func TestQueuesAreDealtToConsumers(t *testing.T) {
	seen := map[int]int{}
	for m := 0; m < 3; m++ {
		for _, q := range queuesOf(m, 3, 1000) {
			seen[q]++
		}
	}
	if len(seen) != 1000 {
		t.Fatalf("3 consumers cover %d of 1000 queues", len(seen))
	}
	for q, n := range seen {
		if n != 1 {
			t.Fatalf("queue %d read by %d consumers", q, n)
		}
	}
	if got := queuesOf(4, 5, 2); len(got) != 1 || got[0] != 0 {
		t.Errorf("with more consumers than queues, consumer 4 of 5 reads %v, want [0]", got)
	}
}
