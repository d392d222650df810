// Package httpapi is Gannet's HTTP surface for operators: Prometheus
// /metrics, the liveness probe /healthz and the readiness probe /readyz.
//
// It builds an http.Handler and never listens itself; the server owns the
// listener, so tests drive the handler through httptest and the admin API can
// later be mounted beside these routes.
package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configures the handler.
type Options struct {
	// Gatherer is scraped by /metrics. Required.
	Gatherer prometheus.Gatherer
	// Ready reports nil when the broker can serve traffic, or why it cannot
	// (recovering, shutting down). Required.
	Ready func() error
	// Logger receives scrape errors. Nil discards them.
	Logger *slog.Logger
}

// New returns the handler for /metrics, /healthz and /readyz.
func New(opts Options) (http.Handler, error) {
	if opts.Gatherer == nil {
		return nil, fmt.Errorf("httpapi: Options.Gatherer is nil; pass the registry the metrics were registered on")
	}
	if opts.Ready == nil {
		return nil, fmt.Errorf("httpapi: Options.Ready is nil; pass the broker's readiness check")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	mux := http.NewServeMux()
	// OpenMetrics stays off: in that format counters gain a _total suffix,
	// which would rename the article's mq_message_produced and break the
	// alert rules written against it.
	mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{
		ErrorLog:      slogPrinter{logger},
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		// Answering at all is the signal: the process is up and serving HTTP.
		writeText(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := opts.Ready(); err != nil {
			writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
			return
		}
		writeText(w, http.StatusOK, "ready")
	})
	return mux, nil
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	// Probes must see the current state, never a cached answer.
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintln(w, body)
}

// slogPrinter adapts a slog.Logger to promhttp's Println-style error log.
type slogPrinter struct{ logger *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	p.logger.Error("serving /metrics failed", "error", fmt.Sprint(v...))
}
