package amqp

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/testenv"
)

// TestArticlePikaSamples runs the article's RabbitMQ samples with Debian's
// python3-pika, each against a fresh broker.
func TestArticlePikaSamples(t *testing.T) {
	testenv.RequirePython(t, "pika")
	for _, script := range []string{
		"article_durable_manual_ack.py",
		"article_dead_letter.py",
		"article_retry_headers.py",
		"article_confirm_qos.py",
		"article_request_reply.py",
	} {
		t.Run(strings.TrimSuffix(script, ".py"), func(t *testing.T) {
			tb := startBroker(t)
			host, port, _ := net.SplitHostPort(tb.addr)
			out := testenv.RunPython(t, 30*time.Second, filepath.Join("testdata", script),
				"GANNET_HOST="+host, "GANNET_PORT="+port)
			if strings.TrimSpace(out) != "OK" {
				t.Fatalf("script printed %q", out)
			}
		})
	}
}

// TestAMQPTools publishes with amqp-publish and reads with amqp-get and
// amqp-consume (Debian's amqp-tools, built on rabbitmq-c).
func TestAMQPTools(t *testing.T) {
	testenv.RequireTool(t, "amqp-publish")
	testenv.RequireTool(t, "amqp-consume")
	testenv.RequireTool(t, "amqp-get")
	tb := startBroker(t)
	_, ch := tb.channel()
	_, err := ch.QueueDeclare("tools", true, false, false, false, nil)
	must(t, err)
	url := "amqp://guest:guest@" + tb.addr
	for _, body := range []string{"one", "two"} {
		testenv.Run(t, 10*time.Second, nil, "amqp-publish", "--url="+url, "-r", "tools", "-p", "-C", "text/plain", "-b", body)
	}
	if out := testenv.Run(t, 10*time.Second, nil, "amqp-get", "--url="+url, "-q", "tools"); out != "one" {
		t.Fatalf("amqp-get printed %q", out)
	}
	out := testenv.Run(t, 10*time.Second, nil, "amqp-consume", "--url="+url, "-q", "tools", "-c", "1", "cat")
	if out != "two" {
		t.Fatalf("amqp-consume printed %q", out)
	}
}
