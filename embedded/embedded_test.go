package embedded_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/gannet-mq/gannet/embedded"
	"github.com/gannet-mq/gannet/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestStartServesHTTPAndCloseRemovesTheTemporaryData(t *testing.T) {
	b, err := embedded.Start(context.Background(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dataDir := b.DataDir()
	if _, err := os.Stat(dataDir); err != nil {
		t.Fatalf("data directory %s: %v", dataDir, err)
	}
	addrs := map[string]string{"AMQPAddr": b.AMQPAddr(), "KafkaAddr": b.KafkaAddr(), "RedisAddr": b.RedisAddr(),
		"SQSAddr": b.SQSAddr(), "HTTPAddr": b.HTTPAddr()}
	for method, addr := range addrs {
		if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
			t.Errorf("%s() = %q, want a bound loopback port", method, addr)
		}
	}
	if status, body := testenv.Get(t, "http://"+b.HTTPAddr()+"/healthz"); status != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 ok", status, body)
	}
	status, body := testenv.Get(t, "http://"+b.HTTPAddr()+"/metrics")
	if status != http.StatusOK || !strings.Contains(body, "gannet_disk_bytes") {
		t.Errorf("/metrics = %d, want 200 with gannet_disk_bytes:\n%s", status, body)
	}
	if b.SQSURL() != "http://"+b.SQSAddr() {
		t.Errorf("SQSURL() = %q, want http://%s", b.SQSURL(), b.SQSAddr())
	}

	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("temporary data directory %s still exists after Close (stat error %v)", dataDir, err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

func TestCloseKeepsADataDirectoryTheCallerGave(t *testing.T) {
	dataDir := t.TempDir()
	var logs bytes.Buffer // read only after Close, when nothing logs any more
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	b, err := embedded.Start(context.Background(), embedded.Options{DataDir: dataDir, Fsync: "never", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if b.DataDir() != dataDir {
		t.Errorf("DataDir() = %q, want %q", b.DataDir(), dataDir)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dataDir); err != nil {
		t.Errorf("the caller's data directory is gone after Close: %v", err)
	}
	// Options.Logger and Options.Fsync reach the server: it warns about the
	// weaker mode on the caller's logger.
	if !strings.Contains(logs.String(), "fsync is not always") || !strings.Contains(logs.String(), "fsync=never") {
		t.Errorf("log has no warning about fsync=never:\n%s", logs.String())
	}
}

func TestStartReportsBadOptionsAndLeavesNoTemporaryData(t *testing.T) {
	tempRoot := t.TempDir()
	t.Setenv("TMPDIR", tempRoot)
	_, err := embedded.Start(context.Background(), embedded.Options{Fsync: "sometimes"})
	if err == nil || !strings.Contains(err.Error(), `fsync "sometimes"`) {
		t.Fatalf("Start with a bad fsync mode: err = %v", err)
	}
	entries, err := os.ReadDir(tempRoot)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("a failed Start left %d entries in the temporary directory", len(entries))
	}
}
