package kafka

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/alarm"
	"github.com/gannet-mq/gannet/internal/testenv"
)

// produceRequestsSeen counts the Produce requests the server has read.
func produceRequestsSeen(tb *testBroker) int {
	return int(testutil.ToFloat64(tb.s.metric.byKey[int16(kmsg.Produce)]))
}

// waitForProduceRequests waits until the server has read at least n
// Produce requests; a held request has been read but not answered.
func waitForProduceRequests(t *testing.T, tb *testBroker, n int) {
	t.Helper()
	testenv.WaitFor(t, fmt.Sprintf("the server to read %d Produce requests", n), func() bool { return produceRequestsSeen(tb) >= n })
}

func endOffset(t *testing.T, tb *testBroker, topic string) int64 {
	t.Helper()
	ends, err := kadm.NewClient(tb.client()).ListEndOffsets(testCtx(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := ends.Lookup(topic, 0)
	if !ok || o.Err != nil {
		t.Fatalf("end offset of %s: %+v", topic, o)
	}
	return o.Offset
}

// TestProduceHeldWhileAlarmRaised: a franz-go produce waits while an alarm
// is raised, appending nothing, while fetches and admin requests keep
// working; it completes once the alarm clears.
func TestProduceHeldWhileAlarmRaised(t *testing.T) {
	alarms := alarm.NewFake()
	tb := startBroker(t, "", func(c *Config) { c.Alarms = alarms.Monitor })
	tb.createTopic("held", 1)
	producer := tb.client(kgo.DefaultProduceTopic("held"))
	if err := producer.ProduceSync(testCtx(t), &kgo.Record{Value: []byte("before")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	alarms.Set(alarm.Memory)
	seen := produceRequestsSeen(tb)
	produced := make(chan error, 1)
	go func() {
		produced <- producer.ProduceSync(testCtx(t), &kgo.Record{Value: []byte("held")}).FirstErr()
	}()
	waitForProduceRequests(t, tb, seen+1)

	// The request is held: nothing appended, and other connections work.
	consumer := tb.client(kgo.ConsumeTopics("held"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if recs := consumeN(t, consumer, 1); string(recs[0].Value) != "before" {
		t.Fatalf("fetched %q", recs[0].Value)
	}
	if end := endOffset(t, tb, "held"); end != 1 {
		t.Fatalf("end offset %d while the produce is held, want 1", end)
	}
	select {
	case err := <-produced:
		t.Fatalf("produce finished while the alarm is raised: %v", err)
	default:
	}

	alarms.Set(0)
	if err := receive(t, produced, "end to the held produce"); err != nil {
		t.Fatalf("held produce failed: %v", err)
	}
	if recs := consumeN(t, consumer, 1); string(recs[0].Value) != "held" {
		t.Fatalf("fetched %q after the alarm", recs[0].Value)
	}
}

// TestProduceOutlivingItsTimeoutIsRetriable: a produce still held when its
// timeout_ms passes gets REQUEST_TIMED_OUT, which is retriable, with
// nothing appended; franz-go retries it until the alarm clears and the
// record is then stored once.
func TestProduceOutlivingItsTimeoutIsRetriable(t *testing.T) {
	alarms := alarm.NewFake()
	tb := startBroker(t, "", func(c *Config) { c.Alarms = alarms.Monitor })
	tb.createTopic("timeout", 1)
	cl := tb.client()
	alarms.Set(alarm.Disk)

	req := produceRequest("timeout", rawBatch(t, -1, -1, -1, 1), 50)
	resp, err := req.RequestWith(testCtx(t), cl.Broker(int(nodeID)))
	if err != nil {
		t.Fatal(err)
	}
	got := resp.Topics[0].Partitions[0]
	if got.ErrorCode != kerr.RequestTimedOut.Code || !kerr.IsRetriable(kerr.ErrorForCode(got.ErrorCode)) {
		t.Fatalf("held past its timeout: %v, want retriable REQUEST_TIMED_OUT", kerr.ErrorForCode(got.ErrorCode))
	}
	if got.ErrorMessage == nil || *got.ErrorMessage != "the broker is low on disk; retry later" {
		t.Fatalf("error message %v", got.ErrorMessage)
	}
	if end := endOffset(t, tb, "timeout"); end != 0 {
		t.Fatalf("a timed-out produce appended: end offset %d", end)
	}

	// franz-go (idempotent by default) retries the timed-out batch.
	producer := tb.client(kgo.DefaultProduceTopic("timeout"), kgo.ProduceRequestTimeout(100*time.Millisecond))
	seen := produceRequestsSeen(tb)
	produced := make(chan error, 1)
	go func() {
		produced <- producer.ProduceSync(testCtx(t), &kgo.Record{Value: []byte("retried")}).FirstErr()
	}()
	waitForProduceRequests(t, tb, seen+2) // timed out once, and retried
	alarms.Set(0)
	if err := receive(t, produced, "end to the retried produce"); err != nil {
		t.Fatalf("franz-go gave up on a retriable timeout: %v", err)
	}
	if end := endOffset(t, tb, "timeout"); end != 1 {
		t.Fatalf("end offset %d after the retries, want the record stored once", end)
	}
}

// TestAcksZeroProduceTimingOutHangsUp: an acks=0 produce has no answer to
// carry an error, so one that times out under an alarm closes its
// connection, as Kafka does for any failed acks=0 produce.
func TestAcksZeroProduceTimingOutHangsUp(t *testing.T) {
	req := kmsg.NewPtrProduceRequest()
	req.Acks = 0
	if r := produceTimedOut(req, alarm.Memory); !r.none || !r.hangUp {
		t.Fatalf("acks=0 reply %+v, want no answer and a hang-up", r)
	}
}

// TestShutdownAnswersAHeldProduce: Shutdown does not wait for the alarm to
// clear; a produce held under it is answered REQUEST_TIMED_OUT, well before
// its timeout_ms, and the connection finishes.
func TestShutdownAnswersAHeldProduce(t *testing.T) {
	alarms := alarm.NewFake()
	tb := startBroker(t, "", func(c *Config) { c.Alarms = alarms.Monitor })
	tb.createTopic("drained", 1)
	cl := tb.client()
	alarms.Set(alarm.Memory)

	req := produceRequest("drained", rawBatch(t, -1, -1, -1, 1), 60_000)
	type answer struct {
		resp *kmsg.ProduceResponse
		err  error
	}
	answered := make(chan answer, 1)
	seen := produceRequestsSeen(tb)
	go func() {
		resp, err := req.RequestWith(testCtx(t), cl.Broker(int(nodeID)))
		answered <- answer{resp, err}
	}()
	waitForProduceRequests(t, tb, seen+1)

	tb.stop() // fails the test if Shutdown runs into its 5 s deadline
	a := receive(t, answered, "answer to the held produce")
	if a.err != nil {
		t.Fatalf("held produce at shutdown: %v", a.err)
	}
	if code := a.resp.Topics[0].Partitions[0].ErrorCode; code != kerr.RequestTimedOut.Code {
		t.Fatalf("held produce at shutdown: %v, want REQUEST_TIMED_OUT", kerr.ErrorForCode(code))
	}
}
