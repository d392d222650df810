package kafka

import (
	"errors"
	"net"
	"slices"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/broker"
)

func (co *coordinator) group(name string, create bool) *group {
	g := co.groups[name]
	if g == nil && create {
		g = &group{name: name, members: map[string]*member{}, static: map[string]string{}, pending: map[string]time.Time{}}
		co.groups[name] = g
	}
	return g
}

func joinError(code int16, memberID string) reply {
	r := kmsg.NewPtrJoinGroupResponse()
	r.ErrorCode, r.Generation, r.MemberID = code, -1, memberID
	return reply{resp: r}
}

func (co *coordinator) join(c *conn, h requestHeader, req *kmsg.JoinGroupRequest) reply {
	co.ensureJanitor()
	session := time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	rebalance := time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond
	if req.Version == 0 {
		rebalance = session
	}
	switch {
	case req.Group == "":
		return joinError(kerr.InvalidGroupID.Code, req.MemberID)
	case session < co.s.cfg.MinSessionTimeout || session > co.s.cfg.MaxSessionTimeout:
		return joinError(kerr.InvalidSessionTimeout.Code, req.MemberID)
	case req.ProtocolType == "" || len(req.Protocols) == 0:
		return joinError(kerr.InconsistentGroupProtocol.Code, req.MemberID)
	}
	now := co.s.now()
	co.mu.Lock()
	defer co.mu.Unlock()
	g := co.group(req.Group, true)
	if g.state != groupEmpty && len(g.members) > 0 &&
		(g.protocolType != req.ProtocolType || !supportsCommon(g, req.Protocols, req.MemberID)) {
		return joinError(kerr.InconsistentGroupProtocol.Code, req.MemberID)
	}
	var m *member
	switch {
	case req.MemberID == "" && req.InstanceID != nil && g.static[*req.InstanceID] != "":
		// A static member coming back: it takes over its old membership
		// under a new id, without a rebalance if nothing changed.
		old := g.members[g.static[*req.InstanceID]]
		co.failWaits(old, kerr.FencedInstanceID.Code)
		delete(g.members, old.id)
		newID := newMemberID(h.clientID)
		if g.leader == old.id {
			g.leader = newID
		}
		old.id = newID
		g.members[newID] = old
		g.static[*req.InstanceID] = newID
		m = old
		// As in Kafka: no rebalance unless the group would now pick
		// another protocol (the member's metadata may differ).
		kept := m.protocols
		m.protocols = req.Protocols
		if g.state == groupStable && chooseProtocol(g) == g.protocol {
			m.lastSeen = now
			r := kmsg.NewPtrJoinGroupResponse()
			r.Generation, r.LeaderID, r.MemberID = g.generation, g.leader, m.id
			r.Protocol, r.ProtocolType = kmsg.StringPtr(g.protocol), kmsg.StringPtr(g.protocolType)
			r.SkipAssignment = m.id == g.leader && req.Version >= 9
			return reply{resp: r}
		}
		m.protocols = kept
	case req.MemberID == "":
		newID := newMemberID(h.clientID)
		if req.InstanceID == nil && req.Version >= 4 {
			g.pending[newID] = now.Add(session)
			return joinError(kerr.MemberIDRequired.Code, newID)
		}
		m = &member{id: newID}
	default:
		m = g.members[req.MemberID]
		if m == nil {
			if _, ok := g.pending[req.MemberID]; !ok {
				return joinError(kerr.UnknownMemberID.Code, req.MemberID)
			}
			delete(g.pending, req.MemberID)
			m = &member{id: req.MemberID}
		} else if !sameInstance(m.instanceID, req.InstanceID) {
			return joinError(kerr.FencedInstanceID.Code, req.MemberID)
		}
	}
	if _, ok := g.members[m.id]; !ok {
		g.members[m.id] = m
		if req.InstanceID != nil {
			g.static[*req.InstanceID] = m.id
		}
	}
	if len(g.members) == 1 {
		g.protocolType = req.ProtocolType
	}
	m.clientID, m.clientHost, m.instanceID = h.clientID, hostOf(c.client), req.InstanceID
	m.protocols, m.session, m.rebalance, m.lastSeen = req.Protocols, session, rebalance, now
	if m.joinWait != nil { // a retried join replaces the parked one
		co.failWaits(m, kerr.RebalanceInProgress.Code)
	}
	wait := make(chan *kmsg.JoinGroupResponse, 1)
	m.joinWait = wait
	if g.state != groupPreparing {
		co.prepareRebalance(g, now)
	}
	co.tryCompleteJoin(g, now)
	return parked(c, wait)
}

// parked answers a request parked until the group completes a step with
// what the coordinator sends on ch, or nothing once the connection is gone.
func parked[R kmsg.Response](c *conn, ch <-chan R) reply {
	return reply{wait: func() kmsg.Response {
		select {
		case r := <-ch:
			return r
		case <-c.ctx.Done():
			return nil
		}
	}}
}

func sameInstance(a, b *string) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return "/" + host
	}
	return addr
}

// checkMember validates a member's request against the group.
func (co *coordinator) checkMember(groupName, memberID string, instanceID *string, generation int32) (*group, *member, int16) {
	g := co.group(groupName, false)
	if g == nil {
		return nil, nil, kerr.UnknownMemberID.Code
	}
	m := g.members[memberID]
	if m == nil {
		if instanceID != nil && g.static[*instanceID] != "" {
			return g, nil, kerr.FencedInstanceID.Code
		}
		return g, nil, kerr.UnknownMemberID.Code
	}
	if !sameInstance(m.instanceID, instanceID) && instanceID != nil {
		return g, m, kerr.FencedInstanceID.Code
	}
	if generation != g.generation {
		return g, m, kerr.IllegalGeneration.Code
	}
	return g, m, 0
}

func (co *coordinator) sync(c *conn, req *kmsg.SyncGroupRequest) reply {
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	co.mu.Lock()
	defer co.mu.Unlock()
	g, m, code := co.checkMember(req.Group, req.MemberID, req.InstanceID, req.Generation)
	if code == 0 && ((req.ProtocolType != nil && *req.ProtocolType != g.protocolType) || (req.Protocol != nil && *req.Protocol != g.protocol)) {
		code = kerr.InconsistentGroupProtocol.Code
	}
	if code != 0 {
		resp.ErrorCode = code
		return reply{resp: resp}
	}
	m.lastSeen = co.s.now()
	resp.ProtocolType, resp.Protocol = kmsg.StringPtr(g.protocolType), kmsg.StringPtr(g.protocol)
	switch g.state {
	case groupPreparing:
		resp.ErrorCode = kerr.RebalanceInProgress.Code
		return reply{resp: resp}
	case groupStable:
		resp.MemberAssignment = m.assignment
		return reply{resp: resp}
	case groupEmpty:
		resp.ErrorCode = kerr.UnknownMemberID.Code
		return reply{resp: resp}
	}
	wait := make(chan *kmsg.SyncGroupResponse, 1)
	m.syncWait = wait
	if m.id == g.leader {
		assigned := map[string][]byte{}
		for _, a := range req.GroupAssignment {
			assigned[a.MemberID] = a.MemberAssignment
		}
		g.state = groupStable
		for _, o := range g.members {
			o.assignment = assigned[o.id]
			if o.syncWait != nil {
				r := kmsg.NewPtrSyncGroupResponse()
				r.ProtocolType, r.Protocol = kmsg.StringPtr(g.protocolType), kmsg.StringPtr(g.protocol)
				r.MemberAssignment = o.assignment
				o.syncWait <- r
				o.syncWait = nil
			}
		}
	}
	return parked(c, wait)
}

func (co *coordinator) heartbeat(req *kmsg.HeartbeatRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	co.mu.Lock()
	defer co.mu.Unlock()
	g, m, code := co.checkMember(req.Group, req.MemberID, req.InstanceID, req.Generation)
	if m != nil {
		m.lastSeen = co.s.now()
	}
	if code == 0 && g.state == groupPreparing {
		code = kerr.RebalanceInProgress.Code
	}
	resp.ErrorCode = code
	return resp
}

func (co *coordinator) leave(req *kmsg.LeaveGroupRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	leaving := req.Members
	if req.Version < 3 {
		leaving = []kmsg.LeaveGroupRequestMember{{MemberID: req.MemberID}}
	}
	co.mu.Lock()
	defer co.mu.Unlock()
	g := co.group(req.Group, false)
	if g == nil {
		resp.ErrorCode = kerr.UnknownMemberID.Code
		return resp
	}
	now := co.s.now()
	removed := false
	for _, l := range leaving {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID = l.MemberID, l.InstanceID
		id := l.MemberID
		if l.InstanceID != nil {
			if owner := g.static[*l.InstanceID]; owner == "" {
				rm.ErrorCode = kerr.UnknownMemberID.Code
			} else if id != "" && id != owner {
				rm.ErrorCode = kerr.FencedInstanceID.Code
			} else {
				id = owner
			}
		}
		if m := g.members[id]; rm.ErrorCode == 0 && m != nil {
			co.removeMember(g, m, kerr.UnknownMemberID.Code)
			removed = true
		} else if rm.ErrorCode == 0 {
			rm.ErrorCode = kerr.UnknownMemberID.Code
		}
		resp.Members = append(resp.Members, rm)
	}
	if req.Version < 3 && len(resp.Members) == 1 {
		resp.ErrorCode = resp.Members[0].ErrorCode
		resp.Members = nil
	}
	if removed && len(g.members) > 0 {
		if g.state != groupPreparing {
			co.prepareRebalance(g, now)
		}
		co.tryCompleteJoin(g, now)
	} else if removed && g.state == groupPreparing {
		co.completeJoin(g, now)
	}
	return resp
}

func (co *coordinator) describe(req *kmsg.DescribeGroupsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	committed := map[string]bool{}
	for _, name := range co.s.b.CursorGroups() {
		committed[name] = true
	}
	co.mu.Lock()
	defer co.mu.Unlock()
	for _, name := range req.Groups {
		rg := kmsg.NewDescribeGroupsResponseGroup()
		rg.Group = name
		g := co.group(name, false)
		switch {
		case g != nil && (len(g.members) > 0 || g.state != groupEmpty):
			rg.State, rg.ProtocolType, rg.Protocol = g.state.String(), g.protocolType, g.protocol
			ids := make([]string, 0, len(g.members))
			for id := range g.members {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				m := g.members[id]
				dm := kmsg.NewDescribeGroupsResponseGroupMember()
				dm.MemberID, dm.InstanceID, dm.ClientID, dm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
				dm.ProtocolMetadata, dm.MemberAssignment = metadataFor(m, g.protocol), m.assignment
				rg.Members = append(rg.Members, dm)
			}
		case committed[name] || g != nil:
			rg.State, rg.ProtocolType = groupEmpty.String(), "consumer"
		default:
			rg.State = "Dead"
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}

func (co *coordinator) list(req *kmsg.ListGroupsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	states := map[string]string{}
	types := map[string]string{}
	for _, name := range co.s.b.CursorGroups() {
		states[name], types[name] = groupEmpty.String(), "consumer"
	}
	co.mu.Lock()
	for name, g := range co.groups {
		if len(g.members) > 0 || g.state != groupEmpty || states[name] == "" {
			states[name], types[name] = g.state.String(), g.protocolType
		}
	}
	co.mu.Unlock()
	names := make([]string, 0, len(states))
	for name := range states {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if len(req.StatesFilter) > 0 && !slices.Contains(req.StatesFilter, states[name]) {
			continue
		}
		if len(req.TypesFilter) > 0 && !slices.Contains(req.TypesFilter, "classic") {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.ProtocolType, lg.GroupState, lg.GroupType = name, types[name], states[name], "classic"
		resp.Groups = append(resp.Groups, lg)
	}
	return resp
}

func (co *coordinator) deleteGroups(req *kmsg.DeleteGroupsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, name := range req.Groups {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group = name
		co.mu.Lock()
		g := co.group(name, false)
		busy := g != nil && len(g.members) > 0
		if !busy && g != nil {
			delete(co.groups, name)
		}
		co.mu.Unlock()
		if busy {
			rg.ErrorCode = kerr.NonEmptyGroup.Code
		} else if err := co.s.b.DeleteCursorGroup(name); err != nil {
			if !errors.Is(err, broker.ErrNotFound) {
				rg.ErrorCode = kerr.KafkaStorageError.Code
			} else if g == nil {
				rg.ErrorCode = kerr.GroupIDNotFound.Code
			}
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
