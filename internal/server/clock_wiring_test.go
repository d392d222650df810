package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/server"
)

// The Kafka, Redis and SQS front-ends keep protocol time of their own
// (sessions, idle times, auto ids, send and receive timestamps); the server
// hands them one clock, the broker's, so that it agrees with the core's
// leases.
func TestKafkaRedisAndSQSAreGivenTheBrokersClock(t *testing.T) {
	var mu sync.Mutex
	given := map[string]server.FrontendDeps{}
	capture := func(protocol string) server.NewFrontend {
		return func(d server.FrontendDeps) (server.Frontend, error) {
			mu.Lock()
			given[protocol] = d
			mu.Unlock()
			return newFakeFrontend(), nil
		}
	}
	s, err := server.NewWithFrontends(testConfig(t), nil, map[string]server.NewFrontend{
		"kafka": capture("kafka"), "redis": capture("redis"), "sqs": capture("sqs"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, s)
	mu.Lock()
	defer mu.Unlock()
	for _, protocol := range []string{"kafka", "redis", "sqs"} {
		c := given[protocol].Clock
		if c == nil {
			t.Fatalf("the %s front-end was given no clock", protocol)
		}
		if now := c.Now(); now.Before(time.Now().Add(-time.Minute)) || now.After(time.Now().Add(time.Minute)) {
			t.Errorf("the %s front-end's clock says %v: not the wall clock the broker runs on", protocol, now)
		}
	}
	if given["kafka"].Clock != given["redis"].Clock || given["kafka"].Clock != given["sqs"].Clock {
		t.Error("the Kafka, Redis and SQS front-ends were given different clocks")
	}
}
