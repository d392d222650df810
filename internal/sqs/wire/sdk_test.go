package wire

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// captureBodies records each request's target and body and answers
// nothing: the test needs only what the SDK sends.
type captureBodies struct{ targets, bodies []string }

func (c *captureBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	c.targets = append(c.targets, r.Header.Get("X-Amz-Target"))
	c.bodies = append(c.bodies, string(b))
	return nil, errors.New("captured")
}

// TestSDKRequestsTakeFastPath: the requests aws-sdk-go-v2 sends on the hot
// path (the sqs-peak workload's) are ones the fast path decodes, and it
// decodes them as encoding/json does. Without this an SDK that sent one
// more member would quietly put every request on the slow path.
func TestSDKRequestsTakeFastPath(t *testing.T) {
	capture := &captureBodies{}
	client := sqs.New(sqs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1"),
		Credentials:      credentials.NewStaticCredentialsProvider("x", "x", ""),
		HTTPClient:       &http.Client{Transport: capture},
		RetryMaxAttempts: 1,
	})
	ctx := context.Background()
	url := aws.String("http://127.0.0.1:9324/000000000000/q")
	client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("body"), DelaySeconds: 5})
	client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("body"),
		MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d")})
	client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("0"), MessageBody: aws.String("a")}, {Id: aws.String("1"), MessageBody: aws.String("b")}}})
	client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: url, Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("0"), ReceiptHandle: aws.String("h0")}, {Id: aws.String("1"), ReceiptHandle: aws.String("h1")}}})
	if len(capture.bodies) != 4 {
		t.Fatalf("captured %d requests: %v", len(capture.bodies), capture.targets)
	}
	for i, body := range capture.bodies {
		action := capture.targets[i][len(TargetPrefix):]
		fast, ok := fastDecode(action, []byte(body))
		if !ok {
			t.Fatalf("%s %s: the fast path gave up", action, body)
		}
		slow := actions[action]()
		if err := json.Unmarshal([]byte(body), slow); err != nil || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%s %s: fast %+v, encoding/json %+v (%v)", action, body, fast, slow, err)
		}
	}
}
