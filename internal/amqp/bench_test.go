package amqp

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/crashtest"

	"github.com/gannet-mq/gannet/internal/loadgen"
)

// TestLoadgenSmoke runs the benchmark workload (durable queue, persistent
// 1 KiB messages, confirms with 256 in flight, one consumer with prefetch
// 200 and manual acks) in-process for a short while and checks that every
// confirmed message was consumed: with one ack per delivery, and with one
// multiple ack per whole window (--ack-every 200), which stalls unless the
// server fills the window's last places. GANNET_AMQP_BENCH=5s runs it
// longer and logs the figures; run with -cpuprofile to see where the time
// goes.
func TestLoadgenSmoke(t *testing.T) {
	d := 500 * time.Millisecond
	if v := os.Getenv("GANNET_AMQP_BENCH"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatal(err)
		}
	}
	for _, ackEvery := range []int{1, 200} {
		t.Run(fmt.Sprintf("ack-every=%d", ackEvery), func(t *testing.T) {
			tb := startBroker(t)
			cfg := loadgen.DefaultConfig()
			cfg.Protocol = "amqp"
			cfg.Addr = tb.addr
			cfg.Duration = d
			cfg.AckEvery = ackEvery
			cfg.DrainTimeout = 10 * time.Second
			res, err := loadgen.Run(context.Background(), cfg, loadgen.Meta{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Missing != 0 || res.Consumed < res.Confirmed || res.Confirmed == 0 || res.DrainTimedOut {
				t.Fatalf("confirmed %d consumed %d missing %d, drain timed out %v",
					res.Confirmed, res.Consumed, res.Missing, res.DrainTimedOut)
			}
			t.Logf("%.0f msg/s (publish %.0f, consume %.0f), latency %+v", res.MsgsPerSec, res.PublishMsgsPerSec, res.ConsumeMsgsPerSec, res.Latency)
		})
	}
}

// profileServeEnv makes the test binary serve AMQP on the given address
// with a CPU profile written to $GANNET_AMQP_PROFILE_OUT until SIGTERM, so
// the broker can be profiled under cmd/gannet-bench in its own process:
//
//	GANNET_AMQP_PROFILE_SERVE=127.0.0.1:25672 GANNET_AMQP_PROFILE_OUT=cpu.out ./amqp.test
const profileServeEnv = "GANNET_AMQP_PROFILE_SERVE"

func profileServe(addr string) {
	dir, _ := os.MkdirTemp("", "gannet-amqp-profile")
	defer os.RemoveAll(dir)
	b, err := broker.Open(broker.Options{DataDir: dir})
	if err != nil {
		crashtest.Fail("open", err)
	}
	srv, err := New(Config{Broker: b})
	if err != nil {
		crashtest.Fail("new", err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		crashtest.Fail("listen", err)
	}
	out, err := os.Create(os.Getenv("GANNET_AMQP_PROFILE_OUT"))
	if err != nil {
		crashtest.Fail("profile", err)
	}
	pprof.StartCPUProfile(out)
	go srv.Serve(l)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	pprof.StopCPUProfile()
	out.Close()
	fmt.Println("profile written")
}
