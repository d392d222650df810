package server

import (
	"fmt"
	"log/slog"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/config"
)

// brokerOptions translates the server's configuration into the core's
// options. It is the only place where config and broker meet.
func brokerOptions(cfg config.Config, logger *slog.Logger, observer broker.Observer) (broker.Options, error) {
	fsync, err := broker.ParseFsyncPolicy(cfg.Fsync)
	if err != nil {
		return broker.Options{}, fmt.Errorf("server: %w", err)
	}
	return broker.Options{
		DataDir:         cfg.DataDir,
		Fsync:           fsync,
		FsyncInterval:   cfg.FsyncInterval,
		SegmentBytes:    cfg.SegmentBytes,
		MaxMessageBytes: cfg.MaxMessageBytes,
		Logger:          logger,
		Observer:        observer,
	}, nil
}
