package broker_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gannet-mq/gannet/internal/broker"
)

// Storage wraps its sentinel errors with detail; the broker must still
// report them as its own, or front-ends answer out-of-range reads with a
// generic error.
func TestOutOfRangeReadsAreBrokerErrOffsetOutOfRange(t *testing.T) {
	h := newHarness(t)
	if _, _, err := h.b.DeclareStream("ranged", broker.StreamConfig{Kind: broker.KindTopic, Partitions: 1, Durable: true}); err != nil {
		t.Fatal(err)
	}
	r, err := h.b.Append("ranged", 0, []broker.Message{{Value: []byte("a")}, {Value: []byte("b")}}, broker.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	part, err := h.b.Partition("ranged", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := part.Read(5, 1<<20, 0); !errors.Is(err, broker.ErrOffsetOutOfRange) {
		t.Errorf("Read past the end: %v, want ErrOffsetOutOfRange", err)
	}
	if _, err := part.ReadRaw(5, 1<<20); !errors.Is(err, broker.ErrOffsetOutOfRange) {
		t.Errorf("ReadRaw past the end: %v, want ErrOffsetOutOfRange", err)
	}
	if err := part.SetStartOffset(9); !errors.Is(err, broker.ErrOffsetOutOfRange) {
		t.Errorf("SetStartOffset past the end: %v, want ErrOffsetOutOfRange", err)
	}
}

// Timestamp lookups on a partition whose broker has closed report the
// broker's ErrClosed, like the other reads (Kafka ListOffsets maps it).
func TestTimestampLookupsAfterCloseAreBrokerErrClosed(t *testing.T) {
	h := newHarness(t)
	if _, _, err := h.b.DeclareStream("timed", broker.StreamConfig{Kind: broker.KindTopic, Durable: true}); err != nil {
		t.Fatal(err)
	}
	part, err := h.b.Partition("timed", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := part.OffsetForTime(0); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("OffsetForTime after Close: %v, want ErrClosed", err)
	}
	if _, _, err := part.MaxTimestamp(); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("MaxTimestamp after Close: %v, want ErrClosed", err)
	}
	if _, err := part.Read(0, 1<<20, 0); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("Read after Close: %v, want ErrClosed", err)
	}
}
