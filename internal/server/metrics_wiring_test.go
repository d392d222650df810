package server_test

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/server"
	"github.com/gannet-mq/gannet/internal/testenv"
)

// TestBrokerEventsReachMetrics checks the wiring rather than the metrics
// package: the broker the server opens reports to the registry /metrics
// serves, and scrape-time gauges read that broker's Stats.
func TestBrokerEventsReachMetrics(t *testing.T) {
	s, err := server.New(testConfig(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, s)

	core := s.Core()
	if _, _, err := core.DeclareStream("order_queue", broker.StreamConfig{Kind: broker.KindQueue, Durable: true}); err != nil {
		t.Fatal(err)
	}
	messages := []broker.Message{{Value: []byte("a")}, {Value: []byte("b")}, {Value: []byte("c")}}
	receipt, err := core.Append("order_queue", 0, messages, broker.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := receipt.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The broker may publish its counters a moment after the append is
	// durable, so scrape until every series shows it.
	wanted := []string{
		`mq_message_produced{queue="order_queue"} 3`,
		`mq_message_pending{queue="order_queue"} 3`,
		`gannet_stream_records{stream="order_queue"} 3`,
		`gannet_fsync_duration_seconds_count`,
	}
	var body string
	missing := func() []string {
		var absent []string
		for _, want := range wanted {
			if !strings.Contains(body, want) {
				absent = append(absent, want)
			}
		}
		return absent
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var status int
		status, body = testenv.Get(t, "http://"+s.Addrs().HTTP+"/metrics")
		if status != http.StatusOK {
			t.Fatalf("/metrics = %d", status)
		}
		if len(missing()) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics still lacks %q:\n%s", missing(), body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// fsync: always means the append was fsynced before it returned.
	match := regexp.MustCompile(`(?m)^gannet_fsync_duration_seconds_count (\d+)$`).FindStringSubmatch(body)
	if match == nil {
		t.Fatalf("/metrics has no gannet_fsync_duration_seconds_count:\n%s", body)
	}
	if count, _ := strconv.Atoi(match[1]); count == 0 {
		t.Error("no fsync observed after an append under fsync=always")
	}
}
