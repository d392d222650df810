package broker

import (
	"reflect"
	"testing"
)

func TestDeltaRoundTrip(t *testing.T) {
	ops := []deltaOp{
		{op: opDeliver, offset: 7, count: 2, deadline: 1700000000123, deliveredAt: 1700000000000, persistent: true, consumer: "alice"},
		{op: opSettle, offset: 7},
		{op: opRelease, offset: 9, count: 3, deadline: 5},
		{op: opCursor, offset: 12},
		{op: opPurge, offset: 3, to: 40},
		{op: opRewind, offset: 2},
	}
	b := appendDeltaHeader(nil, 42, 3)
	for _, o := range ops {
		b = appendDeltaOp(b, o)
	}
	var got []deltaOp
	err := decodeDelta(b, func(gid uint32, part int32, o deltaOp) {
		if gid != 42 || part != 3 {
			t.Fatalf("header decoded as %d/%d", gid, part)
		}
		got = append(got, o)
	})
	if err != nil || !reflect.DeepEqual(got, ops) {
		t.Fatalf("decoded %+v, %v; want %+v", got, err, ops)
	}
}

// FuzzDecodeDelta feeds arbitrary bytes to the journal's delta decoder: it
// must fail cleanly, never panic, and re-encode what it accepts identically.
func FuzzDecodeDelta(f *testing.F) {
	b := appendDeltaHeader(nil, 1, 0)
	b = appendDeltaOp(b, deltaOp{op: opDeliver, offset: 1, count: 1, consumer: "c"})
	f.Add(b)
	f.Add([]byte{1, 0, 'A', 5})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var ops []deltaOp
		var gid uint32
		var part int32
		if decodeDelta(data, func(g uint32, p int32, o deltaOp) { gid, part, ops = g, p, append(ops, o) }) != nil || len(ops) == 0 {
			return
		}
		again := appendDeltaHeader(nil, gid, part)
		for _, o := range ops {
			again = appendDeltaOp(again, o)
		}
		var ops2 []deltaOp
		if err := decodeDelta(again, func(_ uint32, _ int32, o deltaOp) { ops2 = append(ops2, o) }); err != nil || !reflect.DeepEqual(ops, ops2) {
			t.Fatalf("re-encoded delta decodes differently: %v", err)
		}
	})
}

// FuzzReplayJournalRecord feeds arbitrary journal records to replay: a
// corrupt record is an error, never a panic.
func FuzzReplayJournalRecord(f *testing.F) {
	f.Add(kindCatalog, []byte(`{"op":"declare-stream","stream":"q","config":{"kind":1}}`))
	f.Add(kindCatalog, []byte(`{"op":"bind"}`))
	f.Add(kindGroupSnap, []byte(`{"group":1,"partition":0,"settled":[[0,3]]}`))
	f.Add(kindDelta, []byte{1, 0, 'R', 3, 1, 0})
	f.Fuzz(func(t *testing.T, kind byte, value []byte) {
		c := newCatalogState()
		c.apply(kind, value)
	})
}
