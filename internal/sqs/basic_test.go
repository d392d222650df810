package sqs

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestSendLongPollReceiveDelete(t *testing.T) {
	e := startEnv(t)
	url := e.createQueue("orders", nil)
	ctx := e.ctx()

	got := make(chan *sqs.ReceiveMessageOutput, 1)
	errc := make(chan error, 1)
	go func() {
		out, err := e.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), WaitTimeSeconds: 10,
			MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"},
		})
		errc <- err
		got <- out
	}()
	time.Sleep(100 * time.Millisecond) // let the poll start waiting
	sent, err := e.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(url), MessageBody: aws.String("hello"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"kind":  {DataType: aws.String("String"), StringValue: aws.String("order")},
			"count": {DataType: aws.String("Number"), StringValue: aws.String("3")},
			"blob":  {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	out := <-got
	if len(out.Messages) != 1 {
		t.Fatalf("long poll got %d messages", len(out.Messages))
	}
	m := out.Messages[0]
	if aws.ToString(m.Body) != "hello" || aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) {
		t.Fatalf("message = %+v, sent %+v", m, sent)
	}
	if aws.ToString(m.MD5OfMessageAttributes) != aws.ToString(sent.MD5OfMessageAttributes) || sent.MD5OfMessageAttributes == nil {
		t.Fatalf("attribute digests differ: %v vs %v", aws.ToString(m.MD5OfMessageAttributes), aws.ToString(sent.MD5OfMessageAttributes))
	}
	if v := m.MessageAttributes["blob"]; string(v.BinaryValue) != "\x00\x01\x02" || aws.ToString(v.DataType) != "Binary" {
		t.Fatalf("blob attribute = %+v", v)
	}
	if m.Attributes["ApproximateReceiveCount"] != "1" || m.Attributes["SentTimestamp"] == "" {
		t.Fatalf("system attributes = %v", m.Attributes)
	}
	if _, err := e.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute) // past the visibility timeout: a deleted message stays gone
	again, err := e.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Messages) != 0 {
		t.Fatalf("deleted message came back: %+v", again.Messages)
	}
	// A receive gets the system attributes it names, and none unasked.
	e.send(url, "picky")
	some, err := e.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"ApproximateReceiveCount"}})
	if err != nil || len(some.Messages) != 1 || len(some.Messages[0].Attributes) != 1 || some.Messages[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("receive naming one attribute = %+v, %v", some, err)
	}
	e.clock.Advance(time.Minute)
	none, err := e.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)})
	if err != nil || len(none.Messages) != 1 || len(none.Messages[0].Attributes) != 0 {
		t.Fatalf("receive naming no attribute = %+v, %v", none, err)
	}
}
