package kafka

import (
	"bytes"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/batch"
)

// TestProduceSamePartitionPastPendingLimit: a produce request may name one
// partition many times. Its appends go in one commit group, whose round
// runs only once the request has appended everything; past storage's
// pending limit (8 MiB) the next append waited for a round nobody had
// asked for, and the connection hung with the partition.
func TestProduceSamePartitionPastPendingLimit(t *testing.T) {
	tb := startBroker(t, "")
	tb.createTopic("repeat", 1)
	cl := tb.client()
	raw, err := batch.Append(nil, 0, []batch.Record{{Timestamp: 1700000000000, Value: bytes.Repeat([]byte{'v'}, 1000_000)}},
		batch.EncodeOptions{ProducerID: batch.NoProducer, ProducerEpoch: -1, BaseSequence: -1})
	if err != nil {
		t.Fatal(err)
	}
	const times = 10
	req := produceRequest("repeat", raw, 5000)
	for range times - 1 {
		req.Topics[0].Partitions = append(req.Topics[0].Partitions, req.Topics[0].Partitions[0])
	}
	resp, err := req.RequestWith(testCtx(t), cl.Broker(int(nodeID)))
	if err != nil {
		t.Fatalf("produce naming one partition %d times: %v", times, err)
	}
	var got []kmsg.ProduceResponseTopicPartition
	for _, rt := range resp.Topics {
		got = append(got, rt.Partitions...)
	}
	if len(got) != times {
		t.Fatalf("%d answers, want %d", len(got), times)
	}
	for i, rp := range got {
		if rp.ErrorCode != 0 || rp.BaseOffset != int64(i) {
			t.Fatalf("answer %d: %v at offset %d, want offset %d", i, kerr.ErrorForCode(rp.ErrorCode), rp.BaseOffset, i)
		}
	}
}
