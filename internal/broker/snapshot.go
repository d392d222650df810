package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
)

// catalogSnapshot is every declaration and committed offset at one moment.
type catalogSnapshot struct {
	Streams   map[string]StreamConfig `json:"streams"`
	Exchanges []ExchangeConfig        `json:"exchanges"`
	Bindings  []BindingConfig         `json:"bindings"`
	Groups    []groupDecl             `json:"groups"`
	Offsets   []offsetCommit          `json:"offsets"`
	NextGroup uint32                  `json:"next_group"`
}

// groupPartSnapshot is one group partition's delivery state.
type groupPartSnapshot struct {
	Group     uint32                 `json:"group"`
	Partition int32                  `json:"partition"`
	Floor     int64                  `json:"floor"`
	Next      int64                  `json:"next"`
	Settled   offsetSet              `json:"settled"`
	Pending   map[int64]pendingEntry `json:"pending,omitempty"`
	Counts    map[int64]int32        `json:"counts,omitempty"`
	Delayed   map[int64]int64        `json:"delayed,omitempty"` // offset -> not-before ms
}

type pendingEntry struct {
	Count       int32  `json:"count"`
	Deadline    int64  `json:"deadline,omitempty"`
	DeliveredAt int64  `json:"delivered_at"`
	Persistent  bool   `json:"persistent,omitempty"`
	Consumer    string `json:"consumer"`
}

// catalogState is the declarations being rebuilt during replay.
type catalogState struct {
	catalogSnapshot
	groupState map[uint32]map[int32]*groupPartSnapshot
}

func newCatalogState() *catalogState {
	return &catalogState{
		catalogSnapshot: catalogSnapshot{Streams: map[string]StreamConfig{}},
		groupState:      map[uint32]map[int32]*groupPartSnapshot{},
	}
}

func (c *catalogState) apply(kind byte, value []byte) error {
	switch kind {
	case kindCatalogSnap:
		var snap catalogSnapshot
		if err := json.Unmarshal(value, &snap); err != nil {
			return err
		}
		if snap.Streams == nil {
			snap.Streams = map[string]StreamConfig{}
		}
		c.catalogSnapshot = snap
	case kindCatalog:
		var ch catalogChange
		if err := json.Unmarshal(value, &ch); err != nil {
			return err
		}
		if err := ch.check(); err != nil {
			return err
		}
		c.applyChange(ch)
	case kindGroupSnap:
		var gs groupPartSnapshot
		if err := json.Unmarshal(value, &gs); err != nil {
			return err
		}
		c.partState(gs.Group, gs.Partition, 0)
		c.groupState[gs.Group][gs.Partition] = &gs
	case kindDelta:
		return decodeDelta(value, func(gid uint32, part int32, o deltaOp) {
			c.partState(gid, part, -1).applyDelta(o)
		})
	default:
		return errBadDelta
	}
	return nil
}

func (c *catalogState) partState(gid uint32, part int32, start int64) *groupPartSnapshot {
	m := c.groupState[gid]
	if m == nil {
		m = map[int32]*groupPartSnapshot{}
		c.groupState[gid] = m
	}
	s := m[part]
	if s == nil {
		s = &groupPartSnapshot{Group: gid, Partition: part, Floor: start, Next: start}
		m[part] = s
	}
	return s
}

func (s *groupPartSnapshot) applyDelta(o deltaOp) {
	switch o.op {
	case opDeliver:
		if s.Pending == nil {
			s.Pending = map[int64]pendingEntry{}
		}
		s.Pending[o.offset] = pendingEntry{o.count, o.deadline, o.deliveredAt, o.persistent, o.consumer}
		delete(s.Counts, o.offset)
		delete(s.Delayed, o.offset)
		if o.offset >= s.Next {
			s.Next = o.offset + 1
		}
	case opSettle:
		delete(s.Pending, o.offset)
		delete(s.Counts, o.offset)
		delete(s.Delayed, o.offset)
		s.Settled.add(o.offset)
	case opRelease:
		delete(s.Pending, o.offset)
		if s.Counts == nil {
			s.Counts = map[int64]int32{}
		}
		s.Counts[o.offset] = o.count
		if o.deadline > 0 {
			if s.Delayed == nil {
				s.Delayed = map[int64]int64{}
			}
			s.Delayed[o.offset] = o.deadline
		}
	case opCursor:
		s.Next = o.offset
	case opRewind:
		unsettleFrom(&s.Floor, &s.Settled, o.offset)
	case opPurge:
		keep := make([]int64, 0, len(s.Pending))
		for off := range s.Pending {
			keep = append(keep, off)
		}
		slices.Sort(keep)
		s.Settled.settleAllBut(o.offset, o.to, keep)
		for off := range s.Counts {
			if off < o.to && s.Pending[off].Count == 0 {
				delete(s.Counts, off)
			}
		}
		for off := range s.Delayed {
			if off < o.to {
				delete(s.Delayed, off)
			}
		}
	}
}

var errBadChange = errors.New("broker: malformed catalog change")

// check rejects a change that lacks the part its operation needs.
func (ch catalogChange) check() error {
	var ok bool
	switch ch.Op {
	case "declare-stream", "update-stream":
		ok = ch.Config != nil
	case "delete-stream":
		ok = true
	case "declare-exchange", "delete-exchange":
		ok = ch.Exchange != nil
	case "bind", "unbind":
		ok = ch.Binding != nil
	case "create-group", "delete-group":
		ok = ch.Group != nil
	case "commit-offset", "delete-offset", "delete-cursor-group":
		ok = ch.Offset != nil
	}
	if !ok {
		return fmt.Errorf("%w: %q", errBadChange, ch.Op)
	}
	return nil
}

func (c *catalogState) applyChange(ch catalogChange) {
	switch ch.Op {
	case "declare-stream", "update-stream":
		c.Streams[ch.Stream] = *ch.Config
	case "delete-stream":
		delete(c.Streams, ch.Stream)
		c.Bindings = filterBindings(c.Bindings, func(b BindingConfig) bool { return b.ToExchange || b.Destination != ch.Stream })
		kept := c.Groups[:0]
		for _, g := range c.Groups {
			if g.Stream != ch.Stream {
				kept = append(kept, g)
			} else {
				delete(c.groupState, g.ID)
			}
		}
		c.Groups = kept
		c.Offsets = filterOffsets(c.Offsets, func(o offsetCommit) bool { return o.Stream != ch.Stream })
	case "declare-exchange":
		c.Exchanges = append(c.Exchanges, *ch.Exchange)
	case "delete-exchange":
		name := ch.Exchange.Name
		for i, e := range c.Exchanges {
			if e.Name == name {
				c.Exchanges = append(c.Exchanges[:i], c.Exchanges[i+1:]...)
				break
			}
		}
		c.Bindings = filterBindings(c.Bindings, func(b BindingConfig) bool {
			return b.Exchange != name && !(b.ToExchange && b.Destination == name)
		})
	case "bind":
		c.Bindings = append(c.Bindings, *ch.Binding)
	case "unbind":
		removed := false
		c.Bindings = filterBindings(c.Bindings, func(b BindingConfig) bool {
			if !removed && b.Exchange == ch.Binding.Exchange && b.routing().Same(ch.Binding.routing()) {
				removed = true
				return false
			}
			return true
		})
	case "create-group":
		c.Groups = append(c.Groups, *ch.Group)
		if ch.Group.ID > c.NextGroup {
			c.NextGroup = ch.Group.ID
		}
	case "delete-group":
		for i, g := range c.Groups {
			if g.ID == ch.Group.ID {
				c.Groups = append(c.Groups[:i], c.Groups[i+1:]...)
				break
			}
		}
		delete(c.groupState, ch.Group.ID)
	case "commit-offset", "delete-offset":
		o := *ch.Offset
		c.Offsets = filterOffsets(c.Offsets, func(x offsetCommit) bool {
			return x.Group != o.Group || x.Stream != o.Stream || x.Partition != o.Partition
		})
		if ch.Op == "commit-offset" {
			c.Offsets = append(c.Offsets, o)
		}
	case "delete-cursor-group":
		c.Offsets = filterOffsets(c.Offsets, func(x offsetCommit) bool { return x.Group != ch.Offset.Group })
	}
}

func filterBindings(bs []BindingConfig, keep func(BindingConfig) bool) []BindingConfig {
	out := bs[:0]
	for _, b := range bs {
		if keep(b) {
			out = append(out, b)
		}
	}
	return out
}

func filterOffsets(os []offsetCommit, keep func(offsetCommit) bool) []offsetCommit {
	out := os[:0]
	for _, o := range os {
		if keep(o) {
			out = append(out, o)
		}
	}
	return out
}

// snapshotLocked captures the catalog; the caller holds b.mu.
func (b *Broker) catalogSnapshotLocked() catalogSnapshot {
	snap := catalogSnapshot{Streams: map[string]StreamConfig{}, NextGroup: b.nextGroup}
	for name, s := range b.streams {
		snap.Streams[name] = s.config()
		for _, g := range s.groupList() {
			decl := groupDecl{ID: g.id, Stream: name, Name: g.name, Config: g.config()}
			snap.Groups = append(snap.Groups, decl)
		}
	}
	for _, e := range b.exchanges {
		snap.Exchanges = append(snap.Exchanges, e)
		snap.Bindings = append(snap.Bindings, b.bindingsLocked(e.Name)...)
	}
	for k, v := range b.offsets {
		snap.Offsets = append(snap.Offsets, offsetCommit{k.Group, k.Stream, k.Partition, v})
	}
	sort.Slice(snap.Groups, func(i, j int) bool { return snap.Groups[i].ID < snap.Groups[j].ID })
	return snap
}

func (b *Broker) bindingsLocked(exchange string) []BindingConfig {
	var out []BindingConfig
	for _, rb := range b.routes.Bindings(exchange) {
		out = append(out, BindingConfig{Exchange: exchange, Destination: rb.Destination, ToExchange: rb.ToExchange, Key: rb.Key, Args: rb.Args})
	}
	return out
}

// snapshotLocked captures a group partition; the caller holds gp.mu.
func (gp *groupPart) snapshotLocked() groupPartSnapshot {
	s := groupPartSnapshot{Group: gp.g.id, Partition: gp.p.index, Floor: gp.floor, Next: gp.next, Settled: gp.settled.clone()}
	if len(gp.pending) > 0 {
		s.Pending = make(map[int64]pendingEntry, len(gp.pending))
		for off, d := range gp.pending {
			s.Pending[off] = pendingEntry{int32(d.Count), msOrZero(d.Deadline), d.LastDelivered.UnixMilli(), d.Persistent, d.Consumer}
		}
	}
	if len(gp.counts) > 0 {
		s.Counts = maps.Clone(gp.counts)
	}
	if len(gp.delayed) > 0 {
		s.Delayed = make(map[int64]int64, len(gp.delayed))
		for _, d := range gp.delayed {
			s.Delayed[d.offset] = d.at.UnixMilli()
		}
	}
	return s
}
