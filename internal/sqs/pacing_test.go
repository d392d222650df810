package sqs

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

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
	entries := sendEntries(10, func(int) string { return "m" })
	batch := func() {
		t.Helper()
		out, err := e.client.SendMessageBatch(e.ctx(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil {
			t.Fatalf("SendMessageBatch: %v", err)
		}
		if len(out.Successful) != 10 {
			t.Fatalf("SendMessageBatch sent %d of 10: %+v", len(out.Successful), out.Failed)
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
	e.receive(url, 1)
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
		e.receive(url, 1)
		e.send(url, "m")
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
