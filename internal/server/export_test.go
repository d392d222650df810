package server

import (
	"log/slog"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/config"
)

// NewWithFrontends builds a server with a given front-end table, so tests can
// run the lifecycle with fake front-ends in place of the real ones.
func NewWithFrontends(cfg config.Config, logger *slog.Logger, constructors map[string]NewFrontend) (*Server, error) {
	return newServer(cfg, logger, constructors)
}

// Core exposes the running broker so that tests can drive it directly and
// watch the effect on /metrics.
func (s *Server) Core() *broker.Broker { return s.core.Load() }
