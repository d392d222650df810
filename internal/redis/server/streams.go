package server

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/redis/resp"
)

// attrLastID keeps a last id set by XSETID above the last entry, so that it
// survives a restart (Redis keeps it in the stream itself).
const attrLastID = "redis.last-id"

// streamState is what the front-end keeps per stream between commands: the
// last id handed out, so that XADD ids are strictly increasing.
type streamState struct {
	mu    sync.Mutex
	known bool
	last  streamID
	end   int64 // end offset of this front-end's last append
}

func (s *Server) streamState(name string) *streamState {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	st := s.streams[name]
	if st == nil {
		st = &streamState{}
		s.streams[name] = st
	}
	return st
}

func (s *Server) forgetStream(name string) {
	s.streamsMu.Lock()
	delete(s.streams, name)
	s.streamsMu.Unlock()
	s.groupsMu.Lock()
	for k := range s.groups {
		if k.stream == name {
			delete(s.groups, k)
		}
	}
	s.groupsMu.Unlock()
}

// refreshLocked reloads the last id when this front-end has not seen the
// stream yet or another protocol appended to it since.
func (st *streamState) refreshLocked(b *broker.Broker, name string, part broker.Partition) {
	end := part.EndOffset()
	if st.known && end <= st.end {
		return
	}
	st.known = true
	st.end = max(st.end, end)
	if info, err := b.Stream(name); err == nil {
		if v, ok := info.Config.Attributes[attrLastID]; ok {
			if id, _, ok := parseID([]byte(v), 0, false); ok && st.last.less(id) {
				st.last = id
			}
		}
	}
	if id, ok := lastEntryID(part); ok && st.last.less(id) {
		st.last = id
	}
}

// lastEntryID is the id of the last readable record.
func lastEntryID(part broker.Partition) (streamID, bool) {
	end := part.EndOffset()
	if end <= part.StartOffset() {
		return streamID{}, false
	}
	recs, err := part.Read(end-1, 1, 1)
	if err != nil || len(recs) == 0 {
		return streamID{}, false
	}
	res := idResolver{part: part}
	return res.id(&recs[0]), true
}

// lastID is the stream's last generated id, for "$" and XINFO.
func (s *Server) lastID(name string, part broker.Partition) streamID {
	st := s.streamState(name)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.refreshLocked(s.deps.Broker, name, part)
	return st.last
}

// partition resolves a Redis key to its core stream's partition 0, the one
// Redis commands use.
func (c *conn) partition(name []byte) (broker.Partition, bool) {
	p, err := c.s.deps.Broker.Partition(string(name), 0)
	return p, err == nil
}

func (s *Server) declare(name string) error {
	_, _, err := s.deps.Broker.DeclareStream(name, broker.StreamConfig{Kind: broker.KindTopic, Partitions: 1, Durable: true})
	if errors.Is(err, broker.ErrExists) {
		return nil // declared otherwise by another protocol: use it as it is
	}
	return err
}

// deletedGroup names the group whose settled set holds the entries XDEL
// deleted. Its name starts with a NUL byte, so no Redis client makes one
// by accident, and Redis commands do not list it.
const deletedGroup = broker.InternalGroupPrefix + "deleted"

// tombstones tells which entries of a stream XDEL deleted.
type tombstones struct {
	g  broker.Group
	ok bool
}

func (s *Server) tombstones(name string) tombstones {
	g, err := s.deps.Broker.Group(name, deletedGroup)
	return tombstones{g, err == nil}
}

func (t tombstones) deleted(off int64) bool { return t.ok && t.g.IsSettled(0, off) }

func (t tombstones) count(from, to int64) int64 {
	if !t.ok {
		return 0
	}
	return t.g.SettledBetween(0, from, to)
}

// dropDeleted settles the deliveries of entries XDEL deleted, which Redis
// never hands out and a claim takes off the pending list, and returns the
// others and the settled ones apart. ref names an item's delivery.
func dropDeleted[T any](tomb tombstones, g broker.Group, items []T, ref func(*T) broker.Ref) (kept []T, gone []broker.Ref) {
	if !tomb.ok {
		return items, nil
	}
	kept = items[:0]
	for i := range items {
		if r := ref(&items[i]); tomb.deleted(r.Offset) {
			gone = append(gone, r)
		} else {
			kept = append(kept, items[i])
		}
	}
	if len(gone) > 0 {
		g.Ack(gone...)
	}
	return kept, gone
}

// scanLive is scanForward over entries XDEL has not deleted.
func scanLive(part broker.Partition, tomb tombstones, from int64, fn func(rec *broker.Record, id streamID) bool) error {
	if !tomb.ok {
		return scanForward(part, from, fn)
	}
	return scanForward(part, from, func(rec *broker.Record, id streamID) bool {
		if tomb.deleted(rec.Offset) {
			return true
		}
		return fn(rec, id)
	})
}

// scanForward calls fn for each record from offset from on until fn
// returns false or the readable end.
func scanForward(part broker.Partition, from int64, fn func(rec *broker.Record, id streamID) bool) error {
	res := idResolver{part: part}
	if s := part.StartOffset(); from < s {
		from = s
	}
	for {
		end := part.EndOffset()
		if from >= end {
			return nil
		}
		recs, err := part.Read(from, 256<<10, 0)
		if errors.Is(err, broker.ErrOffsetOutOfRange) {
			s := part.StartOffset()
			if s <= from {
				return nil
			}
			from = s
			continue
		}
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		for i := range recs {
			if !fn(&recs[i], res.id(&recs[i])) {
				return nil
			}
		}
		from = recs[len(recs)-1].Offset + 1
	}
}

// seek returns the offset of the first entry whose id is at least id, or
// the end offset.
func seek(part broker.Partition, id streamID) int64 {
	off, _, _ := seekEntry(part, id)
	return off
}

// seekEntry is seek that also returns the id of the entry found (ok=false:
// none, off is the end offset). The time index finds the neighbourhood: an
// entry's record timestamp is never below its id's milliseconds.
func seekEntry(part broker.Partition, id streamID) (off int64, found streamID, ok bool) {
	ms := int64(math.MaxInt64)
	if id.ms < math.MaxInt64 {
		ms = int64(id.ms)
	}
	from, err := part.OffsetForTime(ms)
	if err != nil {
		from = part.StartOffset()
	}
	off = part.EndOffset()
	if from >= off {
		return off, streamID{}, false
	}
	scanForward(part, from, func(rec *broker.Record, rid streamID) bool {
		if !rid.less(id) {
			off, found, ok = rec.Offset, rid, true
			return false
		}
		return true
	})
	return off, found, ok
}

// findOffset returns the offset of the entry with exactly this id.
func findOffset(part broker.Partition, id streamID) (int64, bool) {
	off, found, ok := seekEntry(part, id)
	return off, ok && found == id
}

// entryReader reads entries by offset for a run of look-ups in offset
// order, as pending lists are. The log decodes a whole batch to read one
// record, so the reader keeps what it decoded and serves the entries after
// off in the same batch without reading again.
type entryReader struct {
	part broker.Partition
	res  idResolver
	recs []broker.Record
}

func newEntryReader(part broker.Partition) *entryReader {
	return &entryReader{part: part, res: idResolver{part: part}}
}

// at reads the record at offset off, if it still exists.
func (r *entryReader) at(off int64) (*broker.Record, streamID, bool) {
	if off < r.part.StartOffset() || off >= r.part.EndOffset() {
		return nil, streamID{}, false
	}
	if n := len(r.recs); n == 0 || off < r.recs[0].Offset || off > r.recs[n-1].Offset {
		recs, err := r.part.Read(off, 1, 0)
		if err != nil {
			recs = nil
		}
		r.recs = recs
	}
	i, found := slices.BinarySearchFunc(r.recs, off, func(rec broker.Record, off int64) int {
		return cmp.Compare(rec.Offset, off)
	})
	if !found {
		return nil, streamID{}, false
	}
	rec := &r.recs[i]
	return rec, r.res.id(rec), true
}

// appendEntry encodes one entry: [id, [field, value, ...]].
func appendEntry(b []byte, id streamID, rec *broker.Record) []byte {
	b = append(b, "*2\r\n"...)
	b = appendIDBulk(b, id)
	return appendFields(b, rec)
}

// appendFields encodes a record's fields. An entry written by XADD keeps its
// fields as headers, in order. A record from another protocol shows its
// headers (but the core's own x-gannet-*), then its key as "key" and its
// value as "body".
func appendFields(b []byte, rec *broker.Record) []byte {
	native := false
	for i := range rec.Headers {
		if rec.Headers[i].Key == entryIDHeader {
			native = true
			break
		}
	}
	n := 0
	for i := range rec.Headers {
		if showHeader(rec.Headers[i].Key, native) {
			n++
		}
	}
	body := false
	if !native {
		if rec.Key != nil {
			n++
		}
		if rec.Value != nil || n == 0 {
			body = true
			n++
		}
	}
	b = resp.AppendArrayHeader(b, 2*n)
	for i := range rec.Headers {
		if h := &rec.Headers[i]; showHeader(h.Key, native) {
			b = resp.AppendBulkString(b, h.Key)
			b = resp.AppendBulk(b, h.Value)
		}
	}
	if !native {
		if rec.Key != nil {
			b = resp.AppendBulkString(b, "key")
			b = resp.AppendBulk(b, rec.Key)
		}
		if body {
			b = resp.AppendBulkString(b, "body")
			b = resp.AppendBulk(b, rec.Value)
		}
	}
	return b
}

func showHeader(key string, native bool) bool {
	if native {
		return key != entryIDHeader
	}
	return !strings.HasPrefix(key, "x-gannet-")
}
