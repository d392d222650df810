package sqs

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func sendEntries(n int, body func(i int) string) []types.SendMessageBatchRequestEntry {
	var es []types.SendMessageBatchRequestEntry
	for i := 0; i < n; i++ {
		es = append(es, types.SendMessageBatchRequestEntry{Id: aws.String("m" + strconv.Itoa(i)), MessageBody: aws.String(body(i))})
	}
	return es
}

func TestBatchesOfTen(t *testing.T) {
	e := startEnv(t)
	url := e.createQueue("batch", nil)
	ctx := e.ctx()
	sent, err := e.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url),
		Entries: sendEntries(10, func(i int) string { return fmt.Sprintf("msg-%d", i) })})
	if err != nil || len(sent.Successful) != 10 || len(sent.Failed) != 0 {
		t.Fatalf("SendMessageBatch = %+v, %v", sent, err)
	}
	got := e.receive(url, 10)
	if len(got) != 10 {
		t.Fatalf("received %d of 10", len(got))
	}
	for i, m := range got {
		if aws.ToString(m.Body) != fmt.Sprintf("msg-%d", i) {
			t.Fatalf("message %d = %q: standard queues here keep send order", i, aws.ToString(m.Body))
		}
	}
	var vis []types.ChangeMessageVisibilityBatchRequestEntry
	var del []types.DeleteMessageBatchRequestEntry
	for i, m := range got {
		vis = append(vis, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 600})
		del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
	}
	vis[9].ReceiptHandle = aws.String("garbage")
	cv, err := e.client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: vis})
	if err != nil || len(cv.Successful) != 9 || len(cv.Failed) != 1 || aws.ToString(cv.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Fatalf("ChangeMessageVisibilityBatch = %+v, %v", cv, err)
	}
	dm, err := e.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del})
	if err != nil || len(dm.Successful) != 10 {
		t.Fatalf("DeleteMessageBatch = %+v, %v", dm, err)
	}
	e.clock.Advance(time.Hour)
	if left := e.receive(url, 10); len(left) != 0 {
		t.Fatalf("%d messages left after deleting the batch", len(left))
	}

	// Batch rules: 11 entries, repeated ids, no entries, bad ids.
	_, err = e.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: sendEntries(11, func(int) string { return "x" })})
	wantCode(t, err, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")
	dup := sendEntries(2, func(int) string { return "x" })
	dup[1].Id = dup[0].Id
	_, err = e.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: dup})
	wantCode(t, err, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
	_, err = e.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.DeleteMessageBatchRequestEntry{}})
	if err == nil {
		t.Fatal("empty batch accepted")
	}
	bad := sendEntries(1, func(int) string { return "x" })
	bad[0].Id = aws.String("no spaces allowed")
	_, err = e.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: bad})
	wantCode(t, err, "AWS.SimpleQueueService.InvalidBatchEntryId")
	// One bad entry fails alone.
	mixed := sendEntries(2, func(int) string { return "ok" })
	mixed[1].DelaySeconds = 901
	res, err := e.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: mixed})
	if err != nil || len(res.Successful) != 1 || len(res.Failed) != 1 || aws.ToString(res.Failed[0].Code) != "InvalidParameterValue" || !res.Failed[0].SenderFault {
		t.Fatalf("mixed batch = %+v, %v", res, err)
	}
}

func TestFIFOOrderPerGroupAndDedup(t *testing.T) {
	e := startEnv(t)
	url := e.createQueue("jobs.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	ctx := e.ctx()
	var entries []types.SendMessageBatchRequestEntry
	for i := 0; i < 6; i++ {
		group := []string{"a", "b"}[i%2]
		entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)),
			MessageBody: aws.String(fmt.Sprintf("%s-%d", group, i)), MessageGroupId: aws.String(group)})
	}
	sent, err := e.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil || len(sent.Successful) != 6 {
		t.Fatalf("SendMessageBatch = %+v, %v", sent, err)
	}
	var lastSeq string
	for _, s := range sent.Successful {
		if seq := aws.ToString(s.SequenceNumber); seq <= lastSeq {
			t.Fatalf("sequence numbers not increasing: %q after %q", seq, lastSeq)
		} else {
			lastSeq = seq
		}
	}
	// A resend within 5 minutes (same content) is dropped and answered with
	// the first send's id.
	again, err := e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("a-0"), MessageGroupId: aws.String("a")})
	if err != nil || aws.ToString(again.MessageId) != aws.ToString(sent.Successful[0].MessageId) {
		t.Fatalf("duplicate send = %+v, %v (first %s)", again, err, aws.ToString(sent.Successful[0].MessageId))
	}
	// A receive takes messages in order, several of a group at once; a
	// group with a message in flight is held.
	first := e.receive(url, 2)
	if want := []string{"a-0", "b-1"}; fmt.Sprint(bodies(first)) != fmt.Sprint(want) {
		t.Fatalf("first receive = %v, want %v", bodies(first), want)
	}
	if got := e.receive(url, 10); len(got) != 0 {
		t.Fatalf("groups not held while in flight: %v", bodies(got))
	}
	if first[0].Attributes["MessageGroupId"] != "a" || first[0].Attributes["SequenceNumber"] == "" || first[0].Attributes["MessageDeduplicationId"] == "" {
		t.Errorf("FIFO attributes = %v", first[0].Attributes)
	}
	e.deleteAll(url, first[:1])
	second := e.receive(url, 10)
	if want := []string{"a-2", "a-4"}; fmt.Sprint(bodies(second)) != fmt.Sprint(want) {
		t.Fatalf("second receive = %v, want %v (group b is held by b-1)", bodies(second), want)
	}
	e.deleteAll(url, append(second, first[1]))
	third := e.receive(url, 10)
	if want := []string{"b-3", "b-5"}; fmt.Sprint(bodies(third)) != fmt.Sprint(want) {
		t.Fatalf("third receive = %v, want %v", bodies(third), want)
	}
	e.deleteAll(url, third)

	// Explicit dedup ids, and the rules FIFO queues enforce.
	for i := 0; i < 2; i++ {
		if _, err := e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(fmt.Sprint("body", i)),
			MessageGroupId: aws.String("c"), MessageDeduplicationId: aws.String("same")}); err != nil {
			t.Fatal(err)
		}
	}
	// Receive request attempt ids: a retry gets the same batch.
	attempt := func(in *sqs.ReceiveMessageInput) { in.ReceiveRequestAttemptId = aws.String("try-1") }
	r1 := e.receive(url, 10, attempt)
	r2 := e.receive(url, 10, attempt)
	if len(r1) != 1 || aws.ToString(r1[0].Body) != "body0" || len(r2) != 1 || aws.ToString(r2[0].ReceiptHandle) != aws.ToString(r1[0].ReceiptHandle) {
		t.Fatalf("attempt retry: %v then %v", bodies(r1), bodies(r2))
	}
	_, err = e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x")})
	wantCode(t, err, "MissingParameter")
	_, err = e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageGroupId: aws.String("g"), DelaySeconds: 5})
	wantCode(t, err, "InvalidParameterValue")
	noDedup := e.createQueue("plain.fifo", map[string]string{"FifoQueue": "true"})
	_, err = e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(noDedup), MessageBody: aws.String("x"), MessageGroupId: aws.String("g")})
	wantCode(t, err, "InvalidParameterValue")
	// Names and types must agree.
	_, err = e.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("nofifo.fifo")})
	wantCode(t, err, "InvalidParameterValue")
	_, err = e.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("plain"), Attributes: map[string]string{"FifoQueue": "true"}})
	wantCode(t, err, "InvalidParameterValue")
}

func bodies(ms []types.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = aws.ToString(m.Body)
	}
	return out
}

func (e *testEnv) deleteAll(url string, ms []types.Message) {
	e.t.Helper()
	for _, m := range ms {
		if _, err := e.client.DeleteMessage(e.ctx(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
			e.t.Fatal(err)
		}
	}
}

func TestDelaySeconds(t *testing.T) {
	e := startEnv(t)
	url := e.createQueue("delayed", map[string]string{"DelaySeconds": "60"})
	e.send(url, "queue-delay")
	if _, err := e.client.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("message-delay"), DelaySeconds: 5}); err != nil {
		t.Fatal(err)
	}
	if got := e.receive(url, 10); len(got) != 0 {
		t.Fatalf("delayed messages delivered at once: %v", bodies(got))
	}
	e.clock.Advance(6 * time.Second)
	got := e.receive(url, 10)
	if len(got) != 1 || aws.ToString(got[0].Body) != "message-delay" {
		t.Fatalf("after 6 s: %v (the per-message delay overrides the queue's)", bodies(got))
	}
	e.deleteAll(url, got)
	e.clock.Advance(55 * time.Second)
	if got := e.receive(url, 10); len(got) != 1 || aws.ToString(got[0].Body) != "queue-delay" {
		t.Fatalf("after 61 s: %v", bodies(got))
	}
	_, err := e.client.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), DelaySeconds: 901})
	wantCode(t, err, "InvalidParameterValue")
}
