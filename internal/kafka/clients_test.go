package kafka

import (
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/testenv"
)

func hostPort(t *testing.T, addr string) (string, string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

func TestKafkaPythonArticleSamples(t *testing.T) {
	testenv.RequirePython(t, "kafka")
	tb := startBroker(t, "", func(c *Config) { c.DefaultPartitions = 3 })
	host, port := hostPort(t, tb.addr)
	env := []string{"GANNET_HOST=" + host, "GANNET_PORT=" + port}
	out := testenv.RunPython(t, time.Minute, filepath.Join("testdata", "article_basic.py"), env...)
	if !strings.Contains(out, `ORDER {"amount": 100.0, "orderId": 12345}`) {
		t.Fatalf("basic sample printed %q", out)
	}
	out = testenv.RunPython(t, time.Minute, filepath.Join("testdata", "article_reliable.py"), env...)
	if !strings.Contains(out, "CONSUMED 300 PARTITIONS 3") {
		t.Fatalf("reliable sample printed %q", out)
	}
}

func TestKcatProduceConsumeMetadata(t *testing.T) {
	kcat := testenv.RequireTool(t, "kcat")
	tb := startBroker(t, "")
	tb.createTopic("kcat-topic", 2)
	input := "a:one\nb:two\nc:three\n"
	runIn(t, input, kcat, "-b", tb.addr, "-P", "-t", "kcat-topic", "-K", ":", "-X", "acks=all")
	out := testenv.Run(t, 30*time.Second, nil, kcat, "-b", tb.addr, "-C", "-t", "kcat-topic", "-o", "beginning", "-e", "-f", "%k=%s\n")
	for _, want := range []string{"a=one", "b=two", "c=three"} {
		if !strings.Contains(out, want) {
			t.Fatalf("kcat consumed %q, missing %s", out, want)
		}
	}
	// A balanced consumer (librdkafka's group protocol) reads them too.
	out = testenv.Run(t, 30*time.Second, nil, kcat, "-b", tb.addr, "-G", "kcat-group", "-o", "beginning", "-e", "-f", "%k=%s\n", "kcat-topic")
	for _, want := range []string{"a=one", "b=two", "c=three"} {
		if !strings.Contains(out, want) {
			t.Fatalf("kcat group consumer read %q, missing %s", out, want)
		}
	}
	out = testenv.Run(t, 30*time.Second, nil, kcat, "-b", tb.addr, "-L")
	if !strings.Contains(out, `topic "kcat-topic" with 2 partitions`) || !strings.Contains(out, "broker 0 at "+tb.addr) {
		t.Fatalf("kcat metadata: %s", out)
	}
}

// runIn runs a command with stdin, failing the test if it fails.
func runIn(t *testing.T, stdin string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}
