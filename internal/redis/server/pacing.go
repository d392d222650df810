package server

import (
	"slices"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
)

// DefaultFlowBacklog is the ready backlog of a group being read above
// which XADD is paced. Real Redis needs no pacing: its one thread takes
// commands from each client in turn, so a consumer reading as fast as the
// producer writes keeps up. Here each connection runs on its own, and a
// pipelined producer outruns XREADGROUP plus XACK, which cost more per
// entry than XADD; the consumer would then fall behind for as long as the
// burst lasts, reading from the files instead of memory. A thousand
// entries is five XREADGROUP COUNT 200 calls behind.
const DefaultFlowBacklog = 1000

// groupReadWindow is how recently a consumer must have read for its group
// to count as being read: a group nobody reads never paces its producers.
const groupReadWindow = time.Second

// paceAdds is called after a run of XADDs is appended: every
// broker.PaceCheckEvery entries it hands broker.Pacer the groups being read
// on the streams the run reached, and the connection pauses while the
// fullest holds more than FlowBacklog ready entries and has grown since the
// last check, until its consumers take back the growth (the Pacer stops
// waiting for consumers that drain at less than half the producer's rate).
func (c *conn) paceAdds(adds []pendingAdd) {
	limit := int64(c.s.deps.FlowBacklog)
	if limit <= 0 || len(adds) == 0 || !c.pacer.Due(len(adds)) {
		return
	}
	b := c.s.deps.Broker
	since := time.Now().Add(-groupReadWindow).UnixNano()
	var groups []broker.Group
	var seen []string
	for i := range adds {
		key := adds[i].key
		if adds[i].err != "" || adds[i].null || slices.Contains(seen, key) {
			continue
		}
		seen = append(seen, key)
		all, err := b.Groups(key)
		if err != nil {
			continue
		}
		for _, g := range all {
			if gs := c.s.existingGroupState(key, g.Name()); gs != nil && gs.lastRead.Load() >= since {
				groups = append(groups, g)
			}
		}
	}
	c.pacer.Hold(limit, groups)
}

// existingGroupState returns the front-end's state of a group if it has
// any (groupState creates it).
func (s *Server) existingGroupState(stream, group string) *groupState {
	s.groupsMu.Lock()
	defer s.groupsMu.Unlock()
	return s.groups[groupKey{stream, group}]
}
