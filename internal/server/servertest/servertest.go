// Package servertest starts a whole Gannet inside a test, for the packages
// outside the server whose tests need a real broker to talk to (the load
// generator and its clients).
package servertest

import (
	"context"
	"testing"

	"github.com/gannet-mq/gannet/embedded"
	"github.com/gannet-mq/gannet/internal/server"
)

// Start runs an embedded Gannet (every listener on a loopback port chosen
// by the system, data in a temporary directory) until the test ends, and
// fails the test if it does not start or does not shut down cleanly.
func Start(t testing.TB) server.Addrs {
	t.Helper()
	b, err := embedded.Start(context.Background(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("shutting the broker down: %v", err)
		}
	})
	return server.Addrs{AMQP: b.AMQPAddr(), Kafka: b.KafkaAddr(), Redis: b.RedisAddr(), SQS: b.SQSAddr(), HTTP: b.HTTPAddr()}
}
