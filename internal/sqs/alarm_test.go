package sqs

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gannet-mq/gannet/internal/alarm"
	"github.com/gannet-mq/gannet/internal/clock"
	"github.com/gannet-mq/gannet/internal/loadgen"
)

// startAlarmEnv is startEnv with the front-end watching alarms.
func startAlarmEnv(t *testing.T, alarms *alarm.Monitor) *testEnv {
	t.Helper()
	return startEnvConfig(t, t.TempDir(), clock.Real(), Config{Alarms: alarms})
}

// wantServiceUnavailable checks that err is the 503 a send gets under an
// alarm, naming the resource, and that the SDK's standard retryer would
// retry it.
func wantServiceUnavailable(t *testing.T, err error, resource string) {
	t.Helper()
	wantCode(t, err, "ServiceUnavailable")
	var re *awshttp.ResponseError
	if !errorsAs(err, &re) || re.HTTPStatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("error %v is not an HTTP 503", err)
	}
	if !strings.Contains(err.Error(), "low on "+resource) {
		t.Fatalf("error %v does not say low on %s", err, resource)
	}
	if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) != aws.TrueTernary {
		t.Fatalf("the SDK would not retry %v", err)
	}
}

// TestSendsFailWhileAlarmRaised: SendMessage and SendMessageBatch get a
// retriable 503 ServiceUnavailable while an alarm is raised, and store
// nothing; receives and deletes keep working; sends work again once the
// alarms clear.
func TestSendsFailWhileAlarmRaised(t *testing.T) {
	alarms := alarm.NewFake()
	e := startAlarmEnv(t, alarms.Monitor)
	ctx := e.ctx()
	url := e.createQueue("alarmed", nil)
	if _, err := e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("before")}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		raised   alarm.Resource
		resource string
	}{{alarm.Memory, "memory"}, {alarm.Disk, "disk"}, {alarm.Memory | alarm.Disk, "memory & disk"}} {
		alarms.Set(tc.raised)
		_, err := e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("refused")})
		wantServiceUnavailable(t, err, tc.resource)
		_, err = e.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url,
			Entries: []types.SendMessageBatchRequestEntry{{Id: aws.String("a"), MessageBody: aws.String("refused")}}})
		wantServiceUnavailable(t, err, tc.resource)
	}

	// Consumers drain under the alarm: the earlier message, and nothing
	// the refused sends might have left behind.
	out, err := e.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "before" {
		t.Fatalf("received %+v under the alarm", out.Messages)
	}
	if _, err := e.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage under the alarm: %v", err)
	}

	alarms.Set(0)
	if _, err := e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("after")}); err != nil {
		t.Fatalf("SendMessage after the alarms cleared: %v", err)
	}
}

// TestSDKRetriesASendRefusedByAnAlarm: with the SDK's standard retryer a
// send refused by an alarm is retried; the alarm clears during the
// backoff, so the retry stores the message.
func TestSDKRetriesASendRefusedByAnAlarm(t *testing.T) {
	alarms := alarm.NewFake()
	e := startAlarmEnv(t, alarms.Monitor)
	ctx := e.ctx()
	url := e.createQueue("retried", nil)
	backoffs := 0
	client := sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(e.endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   &http.Client{Transport: loadgen.DetachBodies{RoundTripper: http.DefaultTransport}},
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 2
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) {
				backoffs++
				alarms.Set(0)
				return 0, nil
			})
		}),
	})
	alarms.Set(alarm.Memory)
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("m")}); err != nil {
		t.Fatalf("SendMessage with retries: %v", err)
	}
	if backoffs != 1 {
		t.Fatalf("%d retries, want 1", backoffs)
	}
	out, err := e.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("received %d messages, %v; want the retried one", len(out.Messages), err)
	}
}
