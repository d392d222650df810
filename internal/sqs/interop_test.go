package sqs

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gannet-mq/gannet/internal/broker"
)

// TestSharedNamespace: an SQS queue is the core queue other protocols use.
// A message published through the core (as AMQP does) arrives over SQS with
// its headers as attributes, and one sent over SQS is in the core queue.
func TestSharedNamespace(t *testing.T) {
	e := startEnv(t)
	if _, _, err := e.b.DeclareStream("shared", broker.StreamConfig{Kind: broker.KindQueue, Durable: true}); err != nil {
		t.Fatal(err)
	}
	r, err := e.b.Publish("", "shared", broker.Message{Value: []byte("from amqp"), Headers: []broker.Header{{Key: "tenant", Value: []byte("acme")}}}, broker.PublishOptions{})
	if err != nil || r.Wait(context.Background()) != nil {
		t.Fatal(err)
	}
	url, err := e.client.GetQueueUrl(e.ctx(), &sqs.GetQueueUrlInput{QueueName: aws.String("shared")})
	if err != nil {
		t.Fatal(err)
	}
	got := e.receive(aws.ToString(url.QueueUrl), 1)
	if len(got) != 1 || aws.ToString(got[0].Body) != "from amqp" || aws.ToString(got[0].MessageAttributes["tenant"].StringValue) != "acme" || aws.ToString(got[0].MessageId) == "" {
		t.Fatalf("core message over SQS = %+v", got)
	}
	e.deleteAll(aws.ToString(url.QueueUrl), got)
	e.send(aws.ToString(url.QueueUrl), "from sqs")
	g, err := e.b.Queue("shared")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := g.Receive(context.Background(), broker.ReceiveOptions{Consumer: "amqp", Max: 10})
	if err != nil || len(ds) != 1 || string(ds[0].Value) != "from sqs" {
		t.Fatalf("SQS message in the core = %+v, %v", ds, err)
	}
	// A Kafka-style topic is not an SQS queue.
	if _, _, err := e.b.DeclareStream("events", broker.StreamConfig{Kind: broker.KindTopic, Durable: true}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.GetQueueUrl(e.ctx(), &sqs.GetQueueUrlInput{QueueName: aws.String("events")})
	wantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")
}

// TestShutdownEndsLongPolls: a 20 s long poll does not hold Shutdown.
func TestShutdownEndsLongPolls(t *testing.T) {
	e := startEnv(t)
	url := e.createQueue("idle", nil)
	done := make(chan error, 1)
	go func() {
		_, err := e.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("long poll at shutdown: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
}
