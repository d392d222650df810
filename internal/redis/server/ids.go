package server

import (
	"strconv"

	"github.com/gannet-mq/gannet/internal/broker"
)

// streamID is a Redis entry id, <ms>-<seq>.
type streamID struct{ ms, seq uint64 }

var (
	minID = streamID{}
	maxID = streamID{^uint64(0), ^uint64(0)}
)

func (a streamID) less(b streamID) bool {
	return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq)
}

func (a streamID) isZero() bool { return a.ms == 0 && a.seq == 0 }

// incr returns the next id, or ok=false at the maximum.
func (a streamID) incr() (streamID, bool) {
	if a.seq == ^uint64(0) {
		if a.ms == ^uint64(0) {
			return a, false
		}
		return streamID{a.ms + 1, 0}, true
	}
	return streamID{a.ms, a.seq + 1}, true
}

func (a streamID) decr() (streamID, bool) {
	if a.seq == 0 {
		if a.ms == 0 {
			return a, false
		}
		return streamID{a.ms - 1, ^uint64(0)}, true
	}
	return streamID{a.ms, a.seq - 1}, true
}

func (a streamID) appendTo(b []byte) []byte {
	b = strconv.AppendUint(b, a.ms, 10)
	b = append(b, '-')
	return strconv.AppendUint(b, a.seq, 10)
}

func (a streamID) String() string { return string(a.appendTo(nil)) }

func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (^uint64(0)-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// parseID reads "<ms>-<seq>" or "<ms>" (seq taken as missingSeq), as
// Redis' streamGenericParseIDOrReply does. It also accepts "-" and "+" when
// allowed. seqGiven tells whether the sequence part was present.
func parseID(b []byte, missingSeq uint64, specials bool) (id streamID, seqGiven bool, ok bool) {
	if specials && len(b) == 1 {
		switch b[0] {
		case '-':
			return minID, true, true
		case '+':
			return maxID, true, true
		}
	}
	for i, c := range b {
		if c == '-' {
			ms, ok1 := parseUint(b[:i])
			seq, ok2 := parseUint(b[i+1:])
			return streamID{ms, seq}, true, ok1 && ok2
		}
	}
	ms, ok1 := parseUint(b)
	return streamID{ms, missingSeq}, false, ok1
}

// entryIDHeader holds the Redis id of an entry written by XADD. Records
// written by other protocols have none; their id is derived from the
// record's timestamp and position (see recordID).
const entryIDHeader = broker.HeaderStreamEntryID

// headerID returns the id stored in a record's headers.
func headerID(rec *broker.Record) (streamID, bool) {
	for i := len(rec.Headers) - 1; i >= 0; i-- {
		if rec.Headers[i].Key == entryIDHeader {
			id, _, ok := parseID(rec.Headers[i].Value, 0, false)
			return id, ok
		}
	}
	return streamID{}, false
}

// idResolver turns records into ids. A record without an id header gets
// <timestamp>-<offset minus the first offset with that timestamp>, which is
// stable and, for records appended in time order, strictly increasing.
type idResolver struct {
	part    broker.Partition
	lastTS  int64
	firstAt int64
	valid   bool
}

func (r *idResolver) id(rec *broker.Record) streamID {
	if id, ok := headerID(rec); ok {
		return id
	}
	ts := rec.Timestamp.UnixMilli()
	if ts < 0 {
		ts = 0
	}
	if !r.valid || ts != r.lastTS {
		first, err := r.part.OffsetForTime(ts)
		if err != nil || first > rec.Offset {
			first = rec.Offset
		}
		r.lastTS, r.firstAt, r.valid = ts, first, true
	}
	return streamID{uint64(ts), uint64(rec.Offset - r.firstAt)}
}
