package kafka

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/testenv"
)

// A rebalance waits for every member to rejoin until the largest rebalance
// timeout, then goes on without the members that did not: they are out of
// the group even though their session has not ended.
func TestRebalanceTimeoutDropsMembersThatDoNotRejoin(t *testing.T) {
	tb, fake := startFakeClockBroker(t)
	a, b := tb.client(), tb.client()
	adm := kadm.NewClient(tb.client())
	const session, rebalance = 10 * time.Second, 5 * time.Second

	aID := memberID(t, a, "rb", session, rebalance)
	ra, err := joinRequest("rb", aID, nil, session, rebalance).RequestWith(testCtx(t), a)
	if err != nil || ra.ErrorCode != 0 || ra.Generation != 1 {
		t.Fatalf("a joins: %v %+v", err, ra)
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.Generation, sync.MemberID = "rb", 1, aID
	if sr, err := sync.RequestWith(testCtx(t), a); err != nil || sr.ErrorCode != 0 {
		t.Fatalf("a syncs: %v %+v", err, sr)
	}

	// b joining starts a rebalance that a never answers.
	bID := memberID(t, b, "rb", session, rebalance)
	joined := parkedJoin(t, b, joinRequest("rb", bID, nil, session, rebalance))
	waitGroupState(t, adm, "rb", "PreparingRebalance")
	fake.Advance(rebalance)
	if state, members := describeGroup(t, adm, "rb"); state != "PreparingRebalance" || len(members) != 2 {
		t.Fatalf("at the rebalance timeout: %s with %v", state, members)
	}
	if code := heartbeat(t, a, "rb", aID, nil, 1); code != kerr.RebalanceInProgress.Code {
		t.Fatalf("a's heartbeat during the rebalance: %v", kerr.ErrorForCode(code))
	}

	fake.Advance(janitorTick)
	rb := receive(t, joined, "join response for b")
	if rb.ErrorCode != 0 || rb.Generation != 2 || rb.LeaderID != bID || len(rb.Members) != 1 || rb.Members[0].MemberID != bID {
		t.Fatalf("b's join after the rebalance timeout: %+v", rb)
	}
	if code := heartbeat(t, a, "rb", aID, nil, 1); code != kerr.UnknownMemberID.Code {
		t.Fatalf("a's heartbeat after being dropped: %v", kerr.ErrorForCode(code))
	}
}

// group.initial.rebalance.delay.ms: the first rebalance of an empty group
// waits for the delay, so members that join meanwhile share generation 1.
func TestInitialRebalanceDelayGathersMembers(t *testing.T) {
	const delay = 3 * time.Second
	tb, fake := startFakeClockBroker(t, func(c *Config) { c.InitialRebalanceDelay = delay })
	a, b := tb.client(), tb.client()
	adm := kadm.NewClient(tb.client())
	const session, rebalance = 10 * time.Second, 5 * time.Second

	aID := memberID(t, a, "late", session, rebalance)
	aJoined := parkedJoin(t, a, joinRequest("late", aID, nil, session, rebalance))
	waitGroupState(t, adm, "late", "PreparingRebalance")
	bID := memberID(t, b, "late", session, rebalance)
	bJoined := parkedJoin(t, b, joinRequest("late", bID, nil, session, rebalance))
	testenv.WaitFor(t, "two members in group late", func() bool {
		_, members := describeGroup(t, adm, "late")
		return len(members) == 2
	})

	fake.Advance(delay)
	if state, _ := describeGroup(t, adm, "late"); state != "PreparingRebalance" {
		t.Fatalf("at the end of the delay: %s", state)
	}
	fake.Advance(janitorTick)
	ra, rb := receive(t, aJoined, "join response for a"), receive(t, bJoined, "join response for b")
	if ra.ErrorCode != 0 || rb.ErrorCode != 0 || ra.Generation != 1 || rb.Generation != 1 || ra.LeaderID != rb.LeaderID {
		t.Fatalf("joins after the delay: %+v and %+v", ra, rb)
	}
	leader := ra
	if rb.LeaderID == bID {
		leader = rb
	}
	if len(leader.Members) != 2 {
		t.Fatalf("the leader sees %d members, want 2", len(leader.Members))
	}
}

// A static member (group.instance.id) that comes back within its session
// takes its membership over without a rebalance, fencing its old id; once
// a session passes without a heartbeat it is gone, instance id and all.
func TestStaticMemberRejoinsWithinItsSessionAndExpiresAfter(t *testing.T) {
	tb, fake := startFakeClockBroker(t)
	cl := tb.client()
	adm := kadm.NewClient(tb.client())
	const session = time.Second
	instance := kmsg.StringPtr("static-a")

	first, err := joinRequest("st", "", instance, session, session).RequestWith(testCtx(t), cl)
	if err != nil || first.ErrorCode != 0 || first.Generation != 1 || first.LeaderID != first.MemberID {
		t.Fatalf("static join: %v %+v", err, first)
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.Generation, sync.MemberID, sync.InstanceID = "st", 1, first.MemberID, instance
	if sr, err := sync.RequestWith(testCtx(t), cl); err != nil || sr.ErrorCode != 0 {
		t.Fatalf("sync: %v %+v", err, sr)
	}

	fake.Advance(900 * time.Millisecond) // a restart, within the session
	again, err := joinRequest("st", "", instance, session, session).RequestWith(testCtx(t), cl)
	if err != nil || again.ErrorCode != 0 || again.Generation != 1 || again.MemberID == first.MemberID || again.LeaderID != again.MemberID {
		t.Fatalf("static rejoin: %v %+v", err, again)
	}
	if state, members := describeGroup(t, adm, "st"); state != "Stable" || len(members) != 1 || members[0] != again.MemberID {
		t.Fatalf("after the rejoin: %s with %v", state, members)
	}
	if code := heartbeat(t, cl, "st", first.MemberID, instance, 1); code != kerr.FencedInstanceID.Code {
		t.Fatalf("heartbeat of the old id: %v", kerr.ErrorForCode(code))
	}

	fake.Advance(session) // exactly one session since the rejoin
	if state, members := describeGroup(t, adm, "st"); state != "Stable" || len(members) != 1 {
		t.Fatalf("one session after the rejoin: %s with %v", state, members)
	}
	fake.Advance(janitorTick)
	if state, members := describeGroup(t, adm, "st"); state != "Empty" || len(members) != 0 {
		t.Fatalf("after the session: %s with %v", state, members)
	}
	if code := heartbeat(t, cl, "st", again.MemberID, instance, 1); code != kerr.UnknownMemberID.Code {
		t.Fatalf("heartbeat after expiry: %v", kerr.ErrorForCode(code))
	}
}
