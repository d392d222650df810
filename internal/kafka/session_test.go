package kafka

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The member-id-required join flow, then a member that stops heartbeating
// is removed when its session times out.
func TestJoinFlowAndSessionExpiry(t *testing.T) {
	tb := startBroker(t, "")
	cl := tb.client()
	ctx := testCtx(t)
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = "raw", 1000, 1000
	join.ProtocolType = "consumer"
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 1}}}
	resp, err := join.RequestWith(ctx, cl)
	if err != nil || resp.ErrorCode != kerr.MemberIDRequired.Code || resp.MemberID == "" {
		t.Fatalf("first join: %v %+v", err, resp)
	}
	join.MemberID = resp.MemberID
	resp, err = join.RequestWith(ctx, cl)
	if err != nil || resp.ErrorCode != 0 || resp.LeaderID != join.MemberID || len(resp.Members) != 1 || resp.Generation != 1 {
		t.Fatalf("second join: %v %+v", err, resp)
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.Generation, sync.MemberID = "raw", resp.Generation, resp.MemberID
	sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: resp.MemberID, MemberAssignment: []byte("mine")}}
	sresp, err := sync.RequestWith(ctx, cl)
	if err != nil || sresp.ErrorCode != 0 || string(sresp.MemberAssignment) != "mine" {
		t.Fatalf("sync: %v %+v", err, sresp)
	}
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.Generation, hb.MemberID = "raw", resp.Generation, resp.MemberID
	if h, err := hb.RequestWith(ctx, cl); err != nil || h.ErrorCode != 0 {
		t.Fatalf("heartbeat: %v %+v", err, h)
	}
	hb.Generation++
	if h, _ := hb.RequestWith(ctx, cl); h.ErrorCode != kerr.IllegalGeneration.Code {
		t.Fatalf("heartbeat of a wrong generation: %v", kerr.ErrorForCode(h.ErrorCode))
	}
	hb.Generation--

	deadline := time.Now().Add(10 * time.Second)
	for {
		h, err := hb.RequestWith(ctx, cl)
		if err == nil && h.ErrorCode == kerr.UnknownMemberID.Code {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("member never expired")
		}
		time.Sleep(1500 * time.Millisecond) // longer than the session: it must expire
	}
	d := kmsg.NewPtrDescribeGroupsRequest()
	d.Groups = []string{"raw"}
	if dr, err := d.RequestWith(ctx, cl); err != nil || dr.Groups[0].State != "Empty" {
		t.Fatalf("describe after expiry: %v %+v", err, dr)
	}
}
