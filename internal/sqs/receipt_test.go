package sqs

import (
	"testing"

	"github.com/gannet-mq/gannet/internal/broker"
)

func TestReceiptRoundTrip(t *testing.T) {
	q := &queue{name: "q", createdMs: 1234}
	r := receipt{queue: "q", createdMs: 1234, ref: broker.Ref{Partition: 0, Offset: 99, Count: 3}}
	ref, err := decodeReceipt(r.encode(), q)
	if err != nil || ref != r.ref {
		t.Fatalf("%+v %v", ref, err)
	}
	if _, err := decodeReceipt(r.encode(), &queue{name: "q", createdMs: 1235}); err == nil {
		t.Fatal("handle outlived its queue")
	}
	if _, err := decodeReceipt(r.encode(), &queue{name: "p", createdMs: 1234}); err == nil {
		t.Fatal("handle valid on another queue")
	}
	// A partition the queue lacks: the core would answer an error that is
	// no ReceiptHandleIsInvalid.
	for _, p := range []int32{1, -1, 1 << 30} {
		bad := receipt{queue: "q", createdMs: 1234, ref: broker.Ref{Partition: p, Offset: 1, Count: 1}}
		if _, err := decodeReceipt(bad.encode(), q); err == nil {
			t.Fatalf("handle of partition %d valid on a one-partition queue", p)
		}
	}
	prio := &queue{name: "q", createdMs: 1234, cfg: broker.StreamConfig{Partitions: 3}}
	r.ref.Partition = 2
	if ref, err := decodeReceipt(r.encode(), prio); err != nil || ref != r.ref {
		t.Fatalf("priority level 2: %+v %v", ref, err)
	}
}

// FuzzReceiptHandle: any string is a valid handle of q or a
// ReceiptHandleIsInvalid, never a panic.
func FuzzReceiptHandle(f *testing.F) {
	q := &queue{name: "q", createdMs: 1}
	f.Add(receipt{queue: "q", createdMs: 1, ref: broker.Ref{Offset: 5, Count: 1}}.encode())
	f.Add("")
	f.Add("AQEBAAAA")
	f.Add("////")
	f.Fuzz(func(t *testing.T, handle string) {
		ref, err := decodeReceipt(handle, q)
		if err == nil && (ref.Count < 1 || ref.Offset < 0 || ref.Partition != 0) {
			t.Fatalf("accepted %+v", ref)
		}
		if err != nil && handle != "" && err.Code != "ReceiptHandleIsInvalid" {
			t.Fatalf("%q: %v", handle, err)
		}
	})
}
