// Package servertest starts a whole Gannet inside a test, for the packages
// outside the server whose tests need a real broker to talk to (the load
// generator and its clients).
package servertest

import (
	"context"
	"testing"

	"github.com/gannet-mq/gannet/internal/config"
	"github.com/gannet-mq/gannet/internal/server"
)

// Start runs a Gannet serving AMQP and Kafka on loopback ports chosen by
// the system, with its data in a temporary directory, until the test ends.
func Start(t testing.TB) server.Addrs {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.AMQPAddr, cfg.KafkaAddr, cfg.RedisAddr, cfg.SQSAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0", "", "", ""
	s, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s.Addrs()
}
