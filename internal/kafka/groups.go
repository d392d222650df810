package kafka

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/clock"
)

// The classic consumer group protocol, coordinated in the front-end. Group
// membership lives in memory (members rejoin after a restart, as they do
// when a Kafka coordinator moves); committed offsets live in the core.

type groupState int

const (
	groupEmpty groupState = iota
	groupPreparing
	groupCompleting
	groupStable
)

func (s groupState) String() string {
	switch s {
	case groupPreparing:
		return "PreparingRebalance"
	case groupCompleting:
		return "CompletingRebalance"
	case groupStable:
		return "Stable"
	}
	return "Empty"
}

type member struct {
	id, clientID, clientHost string
	instanceID               *string
	protocols                []kmsg.JoinGroupRequestProtocol
	session, rebalance       time.Duration
	assignment               []byte
	lastSeen                 time.Time
	// joinWait is set while the member's JoinGroup is parked until the
	// rebalance completes; syncWait likewise for SyncGroup.
	joinWait chan *kmsg.JoinGroupResponse
	syncWait chan *kmsg.SyncGroupResponse
}

type group struct {
	name         string
	state        groupState
	generation   int32
	protocolType string
	protocol     string
	leader       string
	members      map[string]*member
	static       map[string]string    // group.instance.id -> member id
	pending      map[string]time.Time // ids handed out by MEMBER_ID_REQUIRED, until they join
	deadline     time.Time            // when a preparing rebalance gives up on missing members
	delayed      bool                 // an initial rebalance delay is running
}

type coordinator struct {
	s      *Server
	mu     sync.Mutex
	groups map[string]*group
	start  sync.Once

	// janitorMu is held while the janitor runs, so close waits for a run
	// in progress and none starts after it.
	janitorMu sync.Mutex
	janitor   clock.Timer
	closed    bool
}

func newCoordinator(s *Server) *coordinator {
	return &coordinator{s: s, groups: make(map[string]*group)}
}

// janitorTick is how often session and rebalance deadlines are checked.
const janitorTick = 100 * time.Millisecond

// ensureJanitor starts the deadline checker on first use of a group. It
// runs on the server's clock, so a test's fake clock drives session,
// rebalance and transaction timeouts with Advance.
func (co *coordinator) ensureJanitor() {
	co.start.Do(func() {
		co.janitorMu.Lock()
		defer co.janitorMu.Unlock()
		if !co.closed {
			co.janitor = co.s.cfg.Clock.AfterFunc(janitorTick, co.runJanitor)
		}
	})
}

// runJanitor expires what is due and schedules the next run.
func (co *coordinator) runJanitor() {
	co.janitorMu.Lock()
	defer co.janitorMu.Unlock()
	if co.closed {
		return
	}
	now := co.s.cfg.Clock.Now()
	co.expire(now)
	co.s.txns.expire(now)
	co.janitor = co.s.cfg.Clock.AfterFunc(janitorTick, co.runJanitor)
}

func (co *coordinator) close() {
	co.janitorMu.Lock()
	if co.closed {
		co.janitorMu.Unlock()
		return
	}
	co.closed = true
	if co.janitor != nil {
		co.janitor.Stop()
	}
	co.janitorMu.Unlock()
	// Answer parked joins and syncs so their connections can finish.
	co.mu.Lock()
	defer co.mu.Unlock()
	for _, g := range co.groups {
		for _, m := range g.members {
			co.failWaits(m, kerr.CoordinatorNotAvailable.Code)
		}
	}
}

// expire removes members whose session ended and completes rebalances
// whose deadline passed.
func (co *coordinator) expire(now time.Time) {
	co.mu.Lock()
	defer co.mu.Unlock()
	for _, g := range co.groups {
		changed := false
		for id, until := range g.pending {
			if now.After(until) {
				delete(g.pending, id)
				co.tryCompleteJoin(g, now) // it may have been waiting for this id
			}
		}
		for _, m := range g.members {
			if m.joinWait == nil && now.Sub(m.lastSeen) > m.session {
				co.s.log.Info("kafka: group member session expired", "group", g.name, "member", m.id)
				co.removeMember(g, m, kerr.UnknownMemberID.Code)
				changed = true
			}
		}
		if changed && len(g.members) > 0 && g.state != groupPreparing {
			co.prepareRebalance(g, now)
		}
		if g.state == groupPreparing && now.After(g.deadline) {
			g.delayed = false
			co.completeJoin(g, now)
		} else if changed {
			co.tryCompleteJoin(g, now)
		}
	}
}

func newMemberID(clientID string) string {
	var b [16]byte
	rand.Read(b[:])
	return clientID + "-" + hex.EncodeToString(b[:])
}

// failWaits answers a member's parked requests with an error.
func (co *coordinator) failWaits(m *member, code int16) {
	if m.joinWait != nil {
		r := kmsg.NewPtrJoinGroupResponse()
		r.ErrorCode, r.Generation, r.MemberID = code, -1, m.id
		m.joinWait <- r
		m.joinWait = nil
	}
	co.failSync(m, code)
}

// failSync answers a member's parked SyncGroup with an error.
func (co *coordinator) failSync(m *member, code int16) {
	if m.syncWait != nil {
		r := kmsg.NewPtrSyncGroupResponse()
		r.ErrorCode = code
		m.syncWait <- r
		m.syncWait = nil
	}
}

func (co *coordinator) removeMember(g *group, m *member, code int16) {
	co.failWaits(m, code)
	delete(g.members, m.id)
	if m.instanceID != nil && g.static[*m.instanceID] == m.id {
		delete(g.static, *m.instanceID)
	}
	if g.leader == m.id {
		g.leader = ""
	}
	if len(g.members) == 0 && g.state != groupPreparing {
		g.state = groupEmpty
		g.generation++
		g.protocol = ""
	}
}

// prepareRebalance starts a rebalance: every member must send JoinGroup
// again within the largest rebalance timeout.
func (co *coordinator) prepareRebalance(g *group, now time.Time) {
	// Members waiting on SyncGroup of the old generation must rejoin.
	for _, m := range g.members {
		co.failSync(m, kerr.RebalanceInProgress.Code)
	}
	var timeout time.Duration
	for _, m := range g.members {
		timeout = max(timeout, m.rebalance)
	}
	g.deadline = now.Add(timeout)
	if g.state == groupEmpty && co.s.cfg.InitialRebalanceDelay > 0 {
		g.delayed = true
		g.deadline = now.Add(min(co.s.cfg.InitialRebalanceDelay, timeout))
	}
	g.state = groupPreparing
}

// tryCompleteJoin completes the rebalance once every member has rejoined.
func (co *coordinator) tryCompleteJoin(g *group, now time.Time) {
	if g.state != groupPreparing || g.delayed || len(g.pending) > 0 {
		return
	}
	for _, m := range g.members {
		if m.joinWait == nil {
			return
		}
	}
	co.completeJoin(g, now)
}

// completeJoin starts a new generation with the members that rejoined.
func (co *coordinator) completeJoin(g *group, now time.Time) {
	for _, m := range g.members {
		if m.joinWait == nil {
			co.removeMember(g, m, kerr.UnknownMemberID.Code)
		}
	}
	g.generation++
	if len(g.members) == 0 {
		g.state, g.protocol, g.leader = groupEmpty, "", ""
		return
	}
	g.protocol = chooseProtocol(g)
	if _, ok := g.members[g.leader]; !ok {
		g.leader = ""
		for id := range g.members {
			if g.leader == "" || id < g.leader {
				g.leader = id
			}
		}
	}
	g.state = groupCompleting
	for _, m := range g.members {
		r := kmsg.NewPtrJoinGroupResponse()
		r.Generation, r.LeaderID, r.MemberID = g.generation, g.leader, m.id
		r.Protocol, r.ProtocolType = kmsg.StringPtr(g.protocol), kmsg.StringPtr(g.protocolType)
		if m.id == g.leader {
			for _, o := range g.members {
				jm := kmsg.NewJoinGroupResponseMember()
				jm.MemberID, jm.InstanceID, jm.ProtocolMetadata = o.id, o.instanceID, metadataFor(o, g.protocol)
				r.Members = append(r.Members, jm)
			}
		}
		m.lastSeen = now
		m.joinWait <- r
		m.joinWait = nil
	}
}

// chooseProtocol picks the protocol every member supports that most
// members list first among those, as Kafka does.
func chooseProtocol(g *group) string {
	var leaderOrder []string
	common := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			common[p.Name]++
		}
		if leaderOrder == nil {
			for _, p := range m.protocols {
				leaderOrder = append(leaderOrder, p.Name)
			}
		}
	}
	votes := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if common[p.Name] == len(g.members) {
				votes[p.Name]++
				break
			}
		}
	}
	best := ""
	for _, name := range leaderOrder {
		if common[name] == len(g.members) && (best == "" || votes[name] > votes[best]) {
			best = name
		}
	}
	return best
}

func metadataFor(m *member, protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

// supportsCommon reports whether protocols share one with every member.
func supportsCommon(g *group, protocols []kmsg.JoinGroupRequestProtocol, self string) bool {
	for _, p := range protocols {
		ok := true
		for id, m := range g.members {
			if id != self && !hasProtocol(m, p.Name) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func hasProtocol(m *member, name string) bool {
	for _, p := range m.protocols {
		if p.Name == name {
			return true
		}
	}
	return false
}
