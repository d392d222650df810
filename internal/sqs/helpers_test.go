package sqs

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/clock"
	"github.com/gannet-mq/gannet/internal/crashtest"
	"github.com/gannet-mq/gannet/internal/loadgen"
)

func TestMain(m *testing.M) {
	if crashtest.Child(runCrashChild) {
		return
	}
	goleak.VerifyTestMain(m)
}

// testEnv is a broker with the SQS front-end on a loopback port and an
// aws-sdk-go-v2 client pointed at it.
type testEnv struct {
	t        *testing.T
	b        *broker.Broker
	clock    *clock.Fake
	srv      *Server
	endpoint string
	client   *sqs.Client
}

func startEnv(t *testing.T) *testEnv {
	t.Helper()
	return startEnvDir(t, t.TempDir())
}

func startEnvDir(t *testing.T, dir string) *testEnv {
	t.Helper()
	clk := clock.NewFake(time.Now())
	e := startEnvClock(t, dir, clk)
	e.clock = clk
	return e
}

// startEnvClock starts with any clock; e.clock is nil unless it is fake.
func startEnvClock(t *testing.T, dir string, clk clock.Clock) *testEnv {
	t.Helper()
	return startEnvConfig(t, dir, clk, Config{})
}

// startEnvConfig starts with any clock and the front-end configured as
// cfg says (its Broker and Clock are set here).
func startEnvConfig(t *testing.T, dir string, clk clock.Clock, cfg Config) *testEnv {
	t.Helper()
	b, err := broker.Open(broker.Options{DataDir: dir, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Broker, cfg.Clock = b, clk
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	e := &testEnv{t: t, b: b, srv: srv, endpoint: "http://" + l.Addr().String()}
	e.client = newClient(e.endpoint)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		b.Close()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	})
	return e
}

func newClient(endpoint string) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Transport: loadgen.DetachBodies{RoundTripper: http.DefaultTransport}},
	})
}

func (e *testEnv) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// createQueue creates a queue with attributes and returns its URL.
func (e *testEnv) createQueue(name string, attrs map[string]string) string {
	e.t.Helper()
	out, err := e.client.CreateQueue(e.ctx(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		e.t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// wantCode checks that err is an API error with the given code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want API error %s", err, code)
	}
	if apiErr.ErrorCode() != code {
		t.Fatalf("error code = %s (%v), want %s", apiErr.ErrorCode(), err, code)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
