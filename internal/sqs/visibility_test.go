package sqs

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func (e *testEnv) receive(url string, max int32, extra ...func(*sqs.ReceiveMessageInput)) []types.Message {
	e.t.Helper()
	in := &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: max,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}, MessageAttributeNames: []string{"All"}}
	for _, f := range extra {
		f(in)
	}
	out, err := e.client.ReceiveMessage(e.ctx(), in)
	if err != nil {
		e.t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

func (e *testEnv) send(url, body string) *sqs.SendMessageOutput {
	e.t.Helper()
	out, err := e.client.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
	if err != nil {
		e.t.Fatalf("SendMessage: %v", err)
	}
	return out
}

func TestVisibilityTimeoutAndReceiveCount(t *testing.T) {
	e := startEnv(t)
	url := e.createQueue("work", map[string]string{"VisibilityTimeout": "30"})
	e.send(url, "job")
	first := e.receive(url, 1)
	if len(first) != 1 || first[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("first receive = %+v", first)
	}
	if got := e.receive(url, 1); len(got) != 0 {
		t.Fatalf("in-flight message delivered again: %+v", got)
	}
	e.clock.Advance(29 * time.Second)
	if got := e.receive(url, 1); len(got) != 0 {
		t.Fatal("message visible before its timeout")
	}
	e.clock.Advance(2 * time.Second)
	second := e.receive(url, 1)
	if len(second) != 1 || second[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("after expiry = %+v", second)
	}
	if second[0].Attributes["ApproximateFirstReceiveTimestamp"] != first[0].Attributes["ApproximateFirstReceiveTimestamp"] {
		t.Errorf("first receive timestamp changed: %v vs %v", second[0].Attributes, first[0].Attributes)
	}
	// The old handle no longer settles the new delivery.
	if _, err := e.client.ChangeMessageVisibility(e.ctx(), &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(url), ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 0}); err == nil {
		t.Fatal("stale handle changed visibility")
	} else {
		wantCode(t, err, "AWS.SimpleQueueService.MessageNotInflight")
	}
	// Extending the lease keeps it hidden; 0 makes it visible at once.
	if _, err := e.client.ChangeMessageVisibility(e.ctx(), &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(url), ReceiptHandle: second[0].ReceiptHandle, VisibilityTimeout: 120}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(60 * time.Second)
	if got := e.receive(url, 1); len(got) != 0 {
		t.Fatal("extended message visible early")
	}
	if _, err := e.client.ChangeMessageVisibility(e.ctx(), &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(url), ReceiptHandle: second[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	third := e.receive(url, 1, func(in *sqs.ReceiveMessageInput) { in.VisibilityTimeout = 5 })
	if len(third) != 1 || third[0].Attributes["ApproximateReceiveCount"] != "3" {
		t.Fatalf("after visibility 0 = %+v", third)
	}
	e.clock.Advance(6 * time.Second) // the per-receive timeout of 5 s, not the queue's 30
	if got := e.receive(url, 1); len(got) != 1 || got[0].Attributes["ApproximateReceiveCount"] != "4" {
		t.Fatalf("per-receive visibility not applied: %+v", got)
	}
}

func TestRedriveAfterMaxReceiveCountAndMoveBack(t *testing.T) {
	e := startEnv(t)
	dlqURL := e.createQueue("orders-dlq", nil)
	dlqArn := e.queueArn(dlqURL)
	policy, _ := json.Marshal(map[string]any{"deadLetterTargetArn": dlqArn, "maxReceiveCount": 2})
	url := e.createQueue("orders", map[string]string{"RedrivePolicy": string(policy), "VisibilityTimeout": "10"})
	sent := e.send(url, "poison")
	for i := 1; i <= 2; i++ {
		got := e.receive(url, 1)
		if len(got) != 1 {
			t.Fatalf("receive %d got nothing", i)
		}
		e.clock.Advance(11 * time.Second)
	}
	if got := e.receive(url, 1); len(got) != 0 {
		t.Fatalf("message received a third time: %+v", got)
	}
	dead := e.receive(dlqURL, 1)
	if len(dead) != 1 || aws.ToString(dead[0].Body) != "poison" || aws.ToString(dead[0].MessageId) != aws.ToString(sent.MessageId) {
		t.Fatalf("dead letter = %+v", dead)
	}
	if src := dead[0].Attributes["DeadLetterQueueSourceArn"]; src != e.queueArn(url) {
		t.Errorf("DeadLetterQueueSourceArn = %q", src)
	}
	sources, err := e.client.ListDeadLetterSourceQueues(e.ctx(), &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(dlqURL)})
	if err != nil || len(sources.QueueUrls) != 1 || sources.QueueUrls[0] != url {
		t.Fatalf("ListDeadLetterSourceQueues = %+v, %v", sources, err)
	}
	// Make it visible in the DLQ again, then move it back to its source.
	if _, err := e.client.ChangeMessageVisibility(e.ctx(), &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(dlqURL), ReceiptHandle: dead[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	task, err := e.client.StartMessageMoveTask(e.ctx(), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn), MaxNumberOfMessagesPerSecond: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.waitTaskCompleted(dlqArn, task); r.ApproximateNumberOfMessagesMoved != 1 || aws.ToInt64(r.ApproximateNumberOfMessagesToMove) != 1 {
		t.Fatalf("task counters = %+v", r)
	}
	back := e.receive(url, 1)
	if len(back) != 1 || aws.ToString(back[0].Body) != "poison" || back[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("moved message = %+v", back)
	}
	// Cancelling a finished task is refused; an unknown one is not found.
	_, err = e.client.CancelMessageMoveTask(e.ctx(), &sqs.CancelMessageMoveTaskInput{TaskHandle: task.TaskHandle})
	wantCode(t, err, "AWS.SimpleQueueService.UnsupportedOperation")
	_, err = e.client.CancelMessageMoveTask(e.ctx(), &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String("bm9wZQ")})
	wantCode(t, err, "ResourceNotFoundException")
	// A queue that is nobody's DLQ cannot be a move source.
	_, err = e.client.StartMessageMoveTask(e.ctx(), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(e.queueArn(url))})
	wantCode(t, err, "InvalidParameterValue")
}

func TestCancelMessageMoveTask(t *testing.T) {
	e := startEnv(t)
	dlqURL := e.createQueue("slow-dlq", nil)
	dlqArn := e.queueArn(dlqURL)
	policy, _ := json.Marshal(map[string]any{"deadLetterTargetArn": dlqArn, "maxReceiveCount": "1"})
	e.createQueue("slow", map[string]string{"RedrivePolicy": string(policy)})
	dest := e.createQueue("elsewhere", nil)
	for i := 0; i < 20; i++ {
		e.send(dlqURL, "x")
	}
	task, err := e.client.StartMessageMoveTask(e.ctx(), &sqs.StartMessageMoveTaskInput{
		SourceArn: aws.String(dlqArn), DestinationArn: aws.String(e.queueArn(dest)), MaxNumberOfMessagesPerSecond: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.StartMessageMoveTask(e.ctx(), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn)})
	wantCode(t, err, "AWS.SimpleQueueService.UnsupportedOperation")
	// The rate is kept on the server's clock: one message at once, the
	// next only when a second has passed.
	moved := func(n int64) func(r types.ListMessageMoveTasksResultEntry) bool {
		return func(r types.ListMessageMoveTasksResultEntry) bool {
			if aws.ToString(r.Status) != "RUNNING" || r.ApproximateNumberOfMessagesMoved > n {
				t.Fatalf("task = %+v, want RUNNING with %d moved", r, n)
			}
			return r.ApproximateNumberOfMessagesMoved == n
		}
	}
	e.waitTask(dlqArn, moved(1))
	e.clock.Advance(time.Second)
	e.waitTask(dlqArn, moved(2))
	if _, err := e.client.CancelMessageMoveTask(e.ctx(), &sqs.CancelMessageMoveTaskInput{TaskHandle: task.TaskHandle}); err != nil {
		t.Fatal(err)
	}
	r := e.waitTask(dlqArn, func(r types.ListMessageMoveTasksResultEntry) bool { return aws.ToString(r.Status) == "CANCELLED" })
	if r.ApproximateNumberOfMessagesMoved != 2 {
		t.Fatalf("cancelled task = %+v, want 2 moved", r)
	}
}

// waitTask polls ListMessageMoveTasks until the newest task of sourceArn
// satisfies until, and returns it.
func (e *testEnv) waitTask(sourceArn string, until func(types.ListMessageMoveTasksResultEntry) bool) types.ListMessageMoveTasksResultEntry {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := e.client.ListMessageMoveTasks(e.ctx(), &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(sourceArn)})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(list.Results) != 1 {
			e.t.Fatalf("tasks = %+v", list.Results)
		}
		if r := list.Results[0]; until(r) {
			return r
		} else if time.Now().After(deadline) {
			e.t.Fatalf("task = %+v, still waiting", r)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitTaskCompleted waits for task to complete; until then it must be
// running.
func (e *testEnv) waitTaskCompleted(sourceArn string, task *sqs.StartMessageMoveTaskOutput) types.ListMessageMoveTasksResultEntry {
	e.t.Helper()
	return e.waitTask(sourceArn, func(r types.ListMessageMoveTasksResultEntry) bool {
		if s := aws.ToString(r.Status); s == "COMPLETED" {
			return true
		} else if s != "RUNNING" || aws.ToString(r.TaskHandle) != aws.ToString(task.TaskHandle) {
			e.t.Fatalf("task = %+v", r)
		}
		return false
	})
}

func (e *testEnv) queueArn(url string) string {
	e.t.Helper()
	out, err := e.client.GetQueueAttributes(e.ctx(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{"QueueArn"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Attributes["QueueArn"]
}

// TestMoveTaskSendsEachBackToItsSource: a dead-letter queue fed by two
// queues; a move task without a destination sends each message back to the
// queue it died in, in order, in batches that mix both sources.
func TestMoveTaskSendsEachBackToItsSource(t *testing.T) {
	e := startEnv(t)
	dlqURL := e.createQueue("shared-dlq", nil)
	dlqArn := e.queueArn(dlqURL)
	policy, _ := json.Marshal(map[string]any{"deadLetterTargetArn": dlqArn, "maxReceiveCount": 1})
	urls := []string{
		e.createQueue("left", map[string]string{"RedrivePolicy": string(policy), "VisibilityTimeout": "10"}),
		e.createQueue("right", map[string]string{"RedrivePolicy": string(policy), "VisibilityTimeout": "10"}),
	}
	const perQueue = 12 // more than one receive batch, sources interleaved
	for i := 0; i < perQueue; i++ {
		for q, url := range urls {
			e.send(url, fmt.Sprintf("%d-%02d", q, i))
		}
	}
	for _, url := range urls {
		for got := 0; got < perQueue; {
			got += len(e.receive(url, 10))
		}
	}
	e.clock.Advance(11 * time.Second)
	for _, url := range urls {
		if got := e.receive(url, 10); len(got) != 0 { // this receive dead-letters them
			t.Fatalf("past maxReceiveCount: %+v", got)
		}
	}
	task, err := e.client.StartMessageMoveTask(e.ctx(), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn)})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.waitTaskCompleted(dlqArn, task); r.ApproximateNumberOfMessagesMoved != 2*perQueue || aws.ToInt64(r.ApproximateNumberOfMessagesToMove) != 2*perQueue {
		t.Fatalf("task counters = %+v", r)
	}
	for q, url := range urls {
		var bodies []string
		for len(bodies) < perQueue {
			got := e.receive(url, 10)
			if len(got) == 0 {
				t.Fatalf("queue %d: %d of %d messages back: %v", q, len(bodies), perQueue, bodies)
			}
			for _, m := range got {
				bodies = append(bodies, aws.ToString(m.Body))
				if m.Attributes["ApproximateReceiveCount"] != "1" {
					t.Fatalf("moved message = %+v", m)
				}
			}
		}
		for i, b := range bodies {
			if want := fmt.Sprintf("%d-%02d", q, i); b != want {
				t.Fatalf("queue %d got %v, want %s at %d", q, bodies, want, i)
			}
		}
	}
	if left := e.receive(dlqURL, 10); len(left) != 0 {
		t.Fatalf("%d messages left in the dead-letter queue", len(left))
	}
}
