package sqs

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/clock"
)

// TestSendsPacedOnlyWhileTheQueueIsReceivedFrom sends batches with
// aws-sdk-go-v2: while nobody receives from the queue, sends are never
// held, however far past FlowBacklog the backlog grows; once a consumer
// receives (and then stops draining), a send that grows the backlog is
// held for broker.PaceMaxPause before pacing gives up.
func TestSendsPacedOnlyWhileTheQueueIsReceivedFrom(t *testing.T) {
	e := startEnv(t)
	url := e.createQueue("paced", nil)
	batch := func() {
		t.Helper()
		var entries []types.SendMessageBatchRequestEntry
		for i := range 10 {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String("m")})
		}
		out, err := e.client.SendMessageBatch(e.ctx(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil || len(out.Successful) != 10 {
			t.Fatalf("SendMessageBatch: %v (%d sent)", err, len(out.Successful))
		}
	}
	pacingOff := func() bool {
		qp := e.srv.queuePacing("paced")
		qp.mu.Lock()
		defer qp.mu.Unlock()
		off, _ := qp.pacer.Off()
		return off
	}
	for range 2 * DefaultFlowBacklog / 10 {
		batch()
	}
	if pacingOff() {
		t.Fatal("sends were held for a queue nobody receives from")
	}
	if _, err := e.client.ReceiveMessage(e.ctx(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 2 * broker.PaceCheckEvery / 10 * 2 { // two checks: the first records
		batch()
	}
	if d := time.Since(start); d < broker.PaceMaxPause || !pacingOff() {
		t.Fatalf("a growing backlog of a queue being read: sends took %v (want at least %v), pacing off: %v", d, broker.PaceMaxPause, pacingOff())
	}
}

// TestPacingStateLivesAsLongAsTheQueue: sends and receives keep a queue's
// pacing state, DeleteQueue drops it, and with pacing turned off receives
// keep none, so the map grows with neither.
func TestPacingStateLivesAsLongAsTheQueue(t *testing.T) {
	for _, backlog := range []int{0, -1} {
		e := startEnvConfig(t, t.TempDir(), clock.Real(), Config{FlowBacklog: backlog})
		url := e.createQueue("kept", nil)
		if _, err := e.client.ReceiveMessage(e.ctx(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("m")}); err != nil {
			t.Fatal(err)
		}
		_, kept := e.srv.pacing.Load("kept")
		if kept != (backlog >= 0) {
			t.Fatalf("FlowBacklog %d: pacing state kept %v after a receive and a send", backlog, kept)
		}
		if _, err := e.client.DeleteQueue(e.ctx(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
			t.Fatal(err)
		}
		if _, kept := e.srv.pacing.Load("kept"); kept {
			t.Fatalf("FlowBacklog %d: pacing state kept after DeleteQueue", backlog)
		}
	}
}
