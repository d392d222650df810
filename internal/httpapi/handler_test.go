package httpapi_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gannet-mq/gannet/internal/httpapi"
)

type fixture struct {
	server   *httptest.Server
	notReady atomic.Pointer[error]
	counter  *prometheus.CounterVec
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{}
	reg := prometheus.NewRegistry()
	f.counter = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mq_message_produced", Help: "Messages produced."}, []string{"queue"})
	reg.MustRegister(f.counter)
	handler, err := httpapi.New(httpapi.Options{
		Gatherer: reg,
		Ready: func() error {
			if err := f.notReady.Load(); err != nil {
				return *err
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.server = httptest.NewServer(handler)
	t.Cleanup(f.server.Close)
	return f
}

func (f *fixture) do(t *testing.T, method, path string, header http.Header) (int, http.Header, string) {
	t.Helper()
	request, err := http.NewRequest(method, f.server.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		request.Header[name] = values
	}
	response, err := f.server.Client().Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response.StatusCode, response.Header, string(body)
}

func TestHealthz(t *testing.T) {
	f := newFixture(t)
	// Liveness does not depend on readiness: a recovering broker is alive.
	notReady := errors.New("recovering")
	f.notReady.Store(&notReady)
	status, _, body := f.do(t, http.MethodGet, "/healthz", nil)
	if status != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 \"ok\\n\"", status, body)
	}
}

func TestReadyzFollowsTheReadinessCheck(t *testing.T) {
	f := newFixture(t)
	status, header, body := f.do(t, http.MethodGet, "/readyz", nil)
	if status != http.StatusOK || body != "ready\n" {
		t.Errorf("GET /readyz when ready = %d %q, want 200 \"ready\\n\"", status, body)
	}
	if header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", header.Get("Cache-Control"))
	}

	notReady := errors.New("broker: recovering stream orders")
	f.notReady.Store(&notReady)
	status, _, body = f.do(t, http.MethodGet, "/readyz", nil)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "broker: recovering stream orders") {
		t.Errorf("GET /readyz when not ready = %d %q, want 503 with the reason", status, body)
	}
}

func TestMetricsServesTheGathererInTextFormat(t *testing.T) {
	f := newFixture(t)
	f.counter.WithLabelValues("order_queue").Add(3)

	// Prometheus offers OpenMetrics first; the handler must still answer in
	// the text format, where the counter keeps the article's name.
	header := http.Header{"Accept": {"application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"}}
	status, responseHeader, body := f.do(t, http.MethodGet, "/metrics", header)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics = %d, want 200:\n%s", status, body)
	}
	if contentType := responseHeader.Get("Content-Type"); !strings.HasPrefix(contentType, "text/plain") {
		t.Errorf("Content-Type = %q, want the Prometheus text format", contentType)
	}
	if !strings.Contains(body, `mq_message_produced{queue="order_queue"} 3`) {
		t.Errorf("/metrics does not expose mq_message_produced under its own name:\n%s", body)
	}
	if strings.Contains(body, "mq_message_produced_total") {
		t.Errorf("/metrics renamed the counter with a _total suffix:\n%s", body)
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	f := newFixture(t)
	if status, _, _ := f.do(t, http.MethodPost, "/healthz", nil); status != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d, want 405", status)
	}
	if status, _, _ := f.do(t, http.MethodGet, "/nowhere", nil); status != http.StatusNotFound {
		t.Errorf("GET /nowhere = %d, want 404", status)
	}
	if status, _, body := f.do(t, http.MethodHead, "/healthz", nil); status != http.StatusOK || body != "" {
		t.Errorf("HEAD /healthz = %d %q, want 200 with no body", status, body)
	}
}

func TestNewRejectsMissingDependencies(t *testing.T) {
	if _, err := httpapi.New(httpapi.Options{Ready: func() error { return nil }}); err == nil || !strings.Contains(err.Error(), "Gatherer") {
		t.Errorf("New without Gatherer: err = %v, want one naming Gatherer", err)
	}
	if _, err := httpapi.New(httpapi.Options{Gatherer: prometheus.NewRegistry()}); err == nil || !strings.Contains(err.Error(), "Ready") {
		t.Errorf("New without Ready: err = %v, want one naming Ready", err)
	}
}
