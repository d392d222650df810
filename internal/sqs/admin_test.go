package sqs

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestQueueAdministration(t *testing.T) {
	e := startEnv(t)
	ctx := e.ctx()
	for i := 0; i < 5; i++ {
		e.createQueue(fmt.Sprintf("app-%d", i), nil)
	}
	other := e.createQueue("other", map[string]string{"VisibilityTimeout": "45"})
	if !strings.HasSuffix(other, "/000000000000/other") {
		t.Fatalf("queue URL %s", other)
	}
	// Same name, same attributes: the same URL; different: QueueAlreadyExists.
	if again := e.createQueue("other", map[string]string{"VisibilityTimeout": "45"}); again != other {
		t.Fatalf("recreate gave %s", again)
	}
	_, err := e.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("other"), Attributes: map[string]string{"VisibilityTimeout": "46"}})
	wantCode(t, err, "QueueAlreadyExists")

	got, err := e.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("other")})
	if err != nil || aws.ToString(got.QueueUrl) != other {
		t.Fatalf("GetQueueUrl = %v, %v", got, err)
	}
	_, err = e.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("missing")})
	wantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")
	var notExist *types.QueueDoesNotExist
	if !errorsAs(err, &notExist) {
		t.Errorf("error %T is not *types.QueueDoesNotExist", err)
	}

	// ListQueues with a prefix, and paging.
	var urls []string
	var token *string
	for {
		page, err := e.client.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("app-"), MaxResults: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, page.QueueUrls...)
		if page.NextToken == nil {
			break
		}
		token = page.NextToken
	}
	if len(urls) != 5 || !strings.HasSuffix(urls[4], "/app-4") {
		t.Fatalf("paged ListQueues = %v", urls)
	}

	// Attributes.
	if _, err := e.client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(other),
		Attributes: map[string]string{"MaximumMessageSize": "2048", "ReceiveMessageWaitTimeSeconds": "1", "MessageRetentionPeriod": "120"}}); err != nil {
		t.Fatal(err)
	}
	attrs, err := e.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(other), AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	a := attrs.Attributes
	if a["VisibilityTimeout"] != "45" || a["MaximumMessageSize"] != "2048" || a["QueueArn"] != "arn:aws:sqs:us-east-1:000000000000:other" ||
		a["ApproximateNumberOfMessages"] != "0" || a["CreatedTimestamp"] == "" || a["DelaySeconds"] != "0" {
		t.Fatalf("attributes = %v", a)
	}
	_, err = e.client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(other), Attributes: map[string]string{"VisibilityTimeout": "50000"}})
	wantCode(t, err, "InvalidAttributeValue")
	_, err = e.client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(other), Attributes: map[string]string{"Bogus": "1"}})
	wantCode(t, err, "InvalidAttributeName")
	_, err = e.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(other), AttributeNames: []types.QueueAttributeName{"Bogus"}})
	wantCode(t, err, "InvalidAttributeName")
	// MaximumMessageSize is enforced.
	_, err = e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(other), MessageBody: aws.String(strings.Repeat("x", 2049))})
	wantCode(t, err, "InvalidParameterValue")
	// Counters.
	for i := 0; i < 3; i++ {
		e.send(other, "m")
	}
	e.receive(other, 1)
	attrs, _ = e.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(other),
		AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if attrs.Attributes["ApproximateNumberOfMessages"] != "2" || attrs.Attributes["ApproximateNumberOfMessagesNotVisible"] != "1" || len(attrs.Attributes) != 2 {
		t.Fatalf("counters = %v", attrs.Attributes)
	}
	// MessageRetentionPeriod: old messages are gone.
	e.clock.Advance(3 * time.Minute)
	if got := e.receive(other, 10); len(got) != 0 {
		t.Fatalf("messages past retention delivered: %v", bodies(got))
	}

	// Tags.
	if _, err := e.client.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: aws.String(other), Tags: map[string]string{"team": "core", "env": "test"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UntagQueue(ctx, &sqs.UntagQueueInput{QueueUrl: aws.String(other), TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.client.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: aws.String(other)})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["team"] != "core" {
		t.Fatalf("tags = %v, %v", tags, err)
	}
	created, err := e.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("tagged"), Tags: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if tags, _ := e.client.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: created.QueueUrl}); tags.Tags["a"] != "b" {
		t.Fatalf("tags at creation = %v", tags.Tags)
	}

	// Purge, once a minute.
	e.send(other, "m")
	if _, err := e.client.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(other)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(other)})
	wantCode(t, err, "AWS.SimpleQueueService.PurgeQueueInProgress")
	if got := e.receive(other, 10); len(got) != 0 {
		t.Fatalf("purged queue still has %v", bodies(got))
	}

	// Delete.
	if _, err := e.client.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(other)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(other), MessageBody: aws.String("x")})
	wantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")
	_, err = e.client.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(other)})
	wantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")
	// The name is free again 60 seconds later.
	_, err = e.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("other")})
	wantCode(t, err, "AWS.SimpleQueueService.QueueDeletedRecently")
	e.clock.Advance(61 * time.Second)
	e.createQueue("other", nil)
}

func TestMessageErrors(t *testing.T) {
	e := startEnv(t)
	ctx := e.ctx()
	url := e.createQueue("errs", nil)
	cases := []struct {
		name string
		call func() error
		code string
	}{
		{"bad receipt handle", func() error {
			_, err := e.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("not-a-handle")})
			return err
		}, "ReceiptHandleIsInvalid"},
		{"handle of another queue", func() error {
			other := e.createQueue("errs-other", nil)
			e.send(other, "x")
			m := e.receive(other, 1)
			_, err := e.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m[0].ReceiptHandle})
			return err
		}, "ReceiptHandleIsInvalid"},
		{"too long", func() error {
			_, err := e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(strings.Repeat("x", 1<<20+1))})
			return err
		}, "InvalidParameterValue"},
		{"invalid characters", func() error {
			_, err := e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("a\x00b")})
			return err
		}, "InvalidMessageContents"},
		{"max messages 11", func() error {
			_, err := e.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 11})
			return err
		}, "InvalidParameterValue"},
		{"wait 21 s", func() error {
			_, err := e.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 21})
			return err
		}, "InvalidParameterValue"},
		{"bad attribute type", func() error {
			_, err := e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"),
				MessageAttributes: map[string]types.MessageAttributeValue{"a": {DataType: aws.String("Float"), StringValue: aws.String("1")}}})
			return err
		}, "InvalidParameterValue"},
		{"number that is not", func() error {
			_, err := e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"),
				MessageAttributes: map[string]types.MessageAttributeValue{"a": {DataType: aws.String("Number"), StringValue: aws.String("one")}}})
			return err
		}, "InvalidParameterValue"},
		{"dedup id on a standard queue", func() error {
			_, err := e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageDeduplicationId: aws.String("d")})
			return err
		}, "InvalidParameterValue"},
		{"bad queue name", func() error {
			_, err := e.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("no spaces")})
			return err
		}, "InvalidParameterValue"},
		{"redrive to a missing queue", func() error {
			_, err := e.client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url),
				Attributes: map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:nope","maxReceiveCount":3}`}})
			return err
		}, "InvalidParameterValue"},
		{"visibility out of range", func() error {
			e.send(url, "v")
			m := e.receive(url, 1)
			_, err := e.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: m[0].ReceiptHandle, VisibilityTimeout: 43201})
			return err
		}, "InvalidParameterValue"},
		{"permissions", func() error {
			_, err := e.client.AddPermission(ctx, &sqs.AddPermissionInput{QueueUrl: aws.String(url), Label: aws.String("l"), AWSAccountIds: []string{"1"}, Actions: []string{"SendMessage"}})
			return err
		}, "AWS.SimpleQueueService.UnsupportedOperation"},
		{"list move tasks of a missing queue", func() error {
			_, err := e.client.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:nope")})
			return err
		}, "ResourceNotFoundException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantCode(t, c.call(), c.code) })
	}
	// A stale handle deletes nothing and is no error, as in SQS: one of an
	// earlier delivery leaves the message in flight, and one of a deleted
	// message does nothing.
	e.clock.Advance(time.Minute) // the cases' messages come back: drop them
	e.deleteAll(url, e.receive(url, 10))
	e.send(url, "twice")
	first := e.receive(url, 1)
	if len(first) != 1 || aws.ToString(first[0].Body) != "twice" {
		t.Fatalf("first delivery = %+v", first)
	}
	e.clock.Advance(31 * time.Second)
	second := e.receive(url, 1)
	if len(second) != 1 || aws.ToString(second[0].Body) != "twice" {
		t.Fatalf("redelivery = %+v", second)
	}
	for _, m := range []types.Message{first[0], second[0], second[0]} {
		if _, err := e.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if m.ReceiptHandle == first[0].ReceiptHandle {
			_, err := e.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: second[0].ReceiptHandle, VisibilityTimeout: 60})
			if err != nil {
				t.Fatalf("the earlier delivery's handle deleted the message: %v", err)
			}
		}
	}
	e.clock.Advance(2 * time.Minute)
	for {
		got := e.receive(url, 10)
		if len(got) == 0 {
			break
		}
		for _, m := range got {
			if aws.ToString(m.Body) == "twice" {
				t.Fatal("deleted message came back")
			}
		}
		e.deleteAll(url, got)
	}
}
