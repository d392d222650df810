package sqs

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/crashtest"
)

// runCrashChild is the child of the crash test: a broker with the SQS
// front-end, and aws-sdk-go-v2 producers and a consumer that print what SQS
// acknowledged. It sends batches from 4 writers ("ACK SENT body" once
// SendMessageBatch answered) and receives and deletes ("ACK RECV body"
// before DeleteMessageBatch, "ACK DEL body" after it answered).
func runCrashChild(dir string, round int) {
	b, err := broker.Open(broker.Options{DataDir: dir})
	if err != nil {
		crashtest.Fail("open", err)
	}
	srv, err := New(Config{Broker: b})
	if err != nil {
		crashtest.Fail("new", err)
	}
	l := crashtest.Listen()
	go srv.Serve(l)
	client := newClient("http://" + l.Addr().String())
	ctx := context.Background()
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("crash")})
	if err != nil {
		crashtest.Fail("create", err)
	}
	ack := func(kind string, bodies []string) {
		for _, body := range bodies {
			crashtest.Ack("%s %s", kind, body)
		}
	}
	for w := 0; w < 4; w++ {
		go func() {
			for seq := 0; ; seq++ {
				var entries []types.SendMessageBatchRequestEntry
				var bodies []string
				for i := 0; i < 10; i++ {
					body := fmt.Sprintf("r%d-w%d-%d-%d", round, w, seq, i)
					bodies = append(bodies, body)
					entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(body)})
				}
				res, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: q.QueueUrl, Entries: entries})
				if err == nil && len(res.Successful) != 10 {
					err = fmt.Errorf("%d of 10 entries sent, %d failed", len(res.Successful), len(res.Failed))
				}
				if err != nil {
					crashtest.Fail("send", err)
				}
				ack("SENT", bodies)
			}
		}()
	}
	for {
		got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			crashtest.Fail("receive", err)
		}
		if len(got.Messages) == 0 {
			continue
		}
		var del []types.DeleteMessageBatchRequestEntry
		var bodies []string
		for i, m := range got.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		ack("RECV", bodies)
		res, err := client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: q.QueueUrl, Entries: del})
		if err == nil && len(res.Failed) != 0 {
			err = fmt.Errorf("%d of %d deletes failed; first: %s", len(res.Failed), len(del), aws.ToString(res.Failed[0].Message))
		}
		if err != nil {
			crashtest.Fail("delete", err)
		}
		ack("DEL", bodies)
	}
}

func TestSIGKILLKeepsSentAndDeleted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills 6 processes")
	}
	dir := t.TempDir()
	acks := crashtest.Run(t, crashtest.Options{
		Rounds:  6,
		MinAcks: 100,
		Seed:    6,
		Command: crashtest.Rerun(dir),
	})
	sent, received, deleted := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, a := range acks {
		kind, body, _ := strings.Cut(a, " ")
		map[string]map[string]bool{"SENT": sent, "RECV": received, "DEL": deleted}[kind][body] = true
	}
	if len(sent) == 0 || len(deleted) == 0 {
		t.Fatalf("%d sent and %d deleted acknowledged: the child did too little", len(sent), len(deleted))
	}
	// Restart on the same data, an hour later: every lease has run out.
	e := startEnvDir(t, dir)
	e.clock.Advance(time.Hour)
	qURL, err := e.client.GetQueueUrl(e.ctx(), &sqs.GetQueueUrlInput{QueueName: aws.String("crash")})
	if err != nil {
		t.Fatal(err)
	}
	remaining := map[string]bool{}
	for {
		got := e.receive(aws.ToString(qURL.QueueUrl), 10)
		if len(got) == 0 {
			break
		}
		for _, m := range got {
			remaining[aws.ToString(m.Body)] = true
		}
	}
	for body := range deleted {
		if remaining[body] {
			t.Fatalf("%s was deleted (acknowledged) and came back after the crash", body)
		}
	}
	for body := range sent {
		if !remaining[body] && !received[body] {
			t.Fatalf("%s was sent (acknowledged), never received, and is gone after the crash", body)
		}
	}
	t.Logf("%d sent, %d deleted acknowledged over 6 SIGKILLs; %d left, none lost, no deleted one back", len(sent), len(deleted), len(remaining))
}
