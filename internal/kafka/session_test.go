package kafka

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/clock"
	"github.com/gannet-mq/gannet/internal/testenv"
)

// startFakeClockBroker starts a core and front-end that share a fake clock,
// so session, rebalance and transaction timeouts pass with Advance.
func startFakeClockBroker(t *testing.T, tweak ...func(*Config)) (*testBroker, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	tweak = append([]func(*Config){func(c *Config) { c.Clock = fake }}, tweak...)
	return startBroker(t, "", tweak...), fake
}

// joinRequest is a classic consumer-protocol JoinGroup.
func joinRequest(group, memberID string, instanceID *string, session, rebalance time.Duration) *kmsg.JoinGroupRequest {
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.MemberID, join.InstanceID = group, memberID, instanceID
	join.SessionTimeoutMillis = int32(session.Milliseconds())
	join.RebalanceTimeoutMillis = int32(rebalance.Milliseconds())
	join.ProtocolType = "consumer"
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 1}}}
	return join
}

// memberID runs the first step of a dynamic member's join and returns the
// member id the coordinator hands out with MEMBER_ID_REQUIRED.
func memberID(t *testing.T, cl *kgo.Client, group string, session, rebalance time.Duration) string {
	t.Helper()
	resp, err := joinRequest(group, "", nil, session, rebalance).RequestWith(testCtx(t), cl)
	if err != nil || resp.ErrorCode != kerr.MemberIDRequired.Code || resp.MemberID == "" {
		t.Fatalf("first join: %v %+v", err, resp)
	}
	return resp.MemberID
}

// parkedJoin sends a join that the coordinator holds until the rebalance
// completes; the response arrives on the returned channel.
func parkedJoin(t *testing.T, cl *kgo.Client, join *kmsg.JoinGroupRequest) <-chan *kmsg.JoinGroupResponse {
	out := make(chan *kmsg.JoinGroupResponse, 1)
	go func() {
		resp, err := join.RequestWith(testCtx(t), cl)
		if err != nil {
			t.Errorf("join of %s: %v", join.MemberID, err)
		}
		out <- resp
	}()
	return out
}

func receive[R any](t *testing.T, ch <-chan R, what string) R {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}

// describeGroup returns the group's state and its members' ids.
func describeGroup(t *testing.T, adm *kadm.Client, group string) (string, []string) {
	t.Helper()
	described, err := adm.DescribeGroups(testCtx(t), group)
	if err != nil {
		t.Fatal(err)
	}
	d := described[group]
	if d.Err != nil {
		t.Fatalf("describe %s: %v", group, d.Err)
	}
	var ids []string
	for _, m := range d.Members {
		ids = append(ids, m.MemberID)
	}
	return d.State, ids
}

// waitGroupState polls until the group reaches state, and returns its
// members' ids as described then: a parked join has been taken in once the
// group is preparing a rebalance.
func waitGroupState(t *testing.T, adm *kadm.Client, group, state string) []string {
	t.Helper()
	var members []string
	testenv.WaitFor(t, "group "+group+" to reach "+state, func() bool {
		var got string
		got, members = describeGroup(t, adm, group)
		return got == state
	})
	return members
}

func heartbeat(t *testing.T, cl *kgo.Client, group, memberID string, instanceID *string, generation int32) int16 {
	t.Helper()
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.InstanceID, hb.Generation = group, memberID, instanceID, generation
	resp, err := hb.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
	return resp.ErrorCode
}

// The member-id-required join flow; a heartbeat keeps the member in the
// group past its first session, and a member that stops heartbeating is
// removed once one session has passed since the last heartbeat, not before.
func TestJoinFlowAndSessionExpiry(t *testing.T) {
	tb, fake := startFakeClockBroker(t)
	cl := tb.client()
	adm := kadm.NewClient(tb.client())
	ctx := testCtx(t)
	const session = time.Second
	id := memberID(t, cl, "raw", session, session)
	resp, err := joinRequest("raw", id, nil, session, session).RequestWith(ctx, cl)
	if err != nil || resp.ErrorCode != 0 || resp.LeaderID != id || len(resp.Members) != 1 || resp.Generation != 1 {
		t.Fatalf("second join: %v %+v", err, resp)
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.Generation, sync.MemberID = "raw", resp.Generation, id
	sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: id, MemberAssignment: []byte("mine")}}
	sresp, err := sync.RequestWith(ctx, cl)
	if err != nil || sresp.ErrorCode != 0 || string(sresp.MemberAssignment) != "mine" {
		t.Fatalf("sync: %v %+v", err, sresp)
	}
	if code := heartbeat(t, cl, "raw", id, nil, 1); code != 0 {
		t.Fatalf("heartbeat: %v", kerr.ErrorForCode(code))
	}
	if code := heartbeat(t, cl, "raw", id, nil, 2); code != kerr.IllegalGeneration.Code {
		t.Fatalf("heartbeat of a wrong generation: %v", kerr.ErrorForCode(code))
	}

	fake.Advance(900 * time.Millisecond)
	if code := heartbeat(t, cl, "raw", id, nil, 1); code != 0 {
		t.Fatalf("heartbeat within the session: %v", kerr.ErrorForCode(code))
	}
	// 1.8s after joining, 0.9s after the last heartbeat: still a member.
	fake.Advance(900 * time.Millisecond)
	if state, members := describeGroup(t, adm, "raw"); state != "Stable" || len(members) != 1 {
		t.Fatalf("0.9s after a heartbeat: %s with %v", state, members)
	}
	// A janitor tick past one session since the heartbeat removes it.
	fake.Advance(2 * janitorTick)
	if state, members := describeGroup(t, adm, "raw"); state != "Empty" || len(members) != 0 {
		t.Fatalf("after the session: %s with %v", state, members)
	}
	if code := heartbeat(t, cl, "raw", id, nil, 1); code != kerr.UnknownMemberID.Code {
		t.Fatalf("heartbeat after expiry: %v", kerr.ErrorForCode(code))
	}
}
