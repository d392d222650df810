package kafka

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/broker"
)

// maxOffsetMetadata is Kafka's offset.metadata.max.bytes.
const maxOffsetMetadata = 4096

// offsetCommit stores a group's offsets in the core and answers once the
// core's state journal has them on disk.
func (s *Server) offsetCommit(req *kmsg.OffsetCommitRequest) reply {
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	code := s.groups.checkCommit(req.Group, req.MemberID, req.InstanceID, req.Generation)
	committed := false
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, code
			if code == 0 {
				c, ec := offsetToCommit(p.Offset, p.Metadata)
				if ec == 0 {
					ec = errorCode(s.b.CommitOffset(req.Group, t.Topic, p.Partition, c))
				}
				rp.ErrorCode = ec
				committed = committed || ec == 0
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if !committed {
		return reply{resp: resp}
	}
	return reply{wait: func() kmsg.Response {
		if err := s.b.SyncState(s.ctx); err != nil {
			for i := range resp.Topics {
				for j := range resp.Topics[i].Partitions {
					if rp := &resp.Topics[i].Partitions[j]; rp.ErrorCode == 0 {
						rp.ErrorCode = kerr.CoordinatorNotAvailable.Code
					}
				}
			}
		}
		return resp
	}}
}

// offsetToCommit builds the offset to store, refusing metadata over
// Kafka's offset.metadata.max.bytes; OffsetCommit and TxnOffsetCommit both
// apply the limit, as Kafka does.
func offsetToCommit(offset int64, metadata *string) (broker.CommittedOffset, int16) {
	var meta string
	if metadata != nil {
		meta = *metadata
	}
	if len(meta) > maxOffsetMetadata {
		return broker.CommittedOffset{}, kerr.OffsetMetadataTooLarge.Code
	}
	return broker.CommittedOffset{Offset: offset, Metadata: meta}, 0
}

// checkCommit validates the committer: a member of the current generation,
// or (generation -1, no member id) a client that manages its own
// assignment, allowed while the group has no members.
func (co *coordinator) checkCommit(groupName, memberID string, instanceID *string, generation int32) int16 {
	if groupName == "" {
		return kerr.InvalidGroupID.Code
	}
	co.mu.Lock()
	defer co.mu.Unlock()
	if generation < 0 && memberID == "" {
		if g := co.group(groupName, false); g != nil && len(g.members) > 0 {
			return kerr.UnknownMemberID.Code
		}
		return 0
	}
	g, m, code := co.checkMember(groupName, memberID, instanceID, generation)
	if code != 0 {
		return code
	}
	m.lastSeen = co.s.now()
	if g.state == groupCompleting {
		return kerr.RebalanceInProgress.Code
	}
	return 0
}

func (s *Server) offsetFetch(req *kmsg.OffsetFetchRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version < 8 {
		var topics []kmsg.OffsetFetchRequestGroupTopic
		for _, t := range req.Topics {
			topics = append(topics, kmsg.OffsetFetchRequestGroupTopic{Topic: t.Topic, Partitions: t.Partitions})
		}
		if req.Topics == nil {
			topics = nil
		}
		for _, gt := range s.fetchOffsets(req.Group, topics) {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = gt.Topic
			for _, p := range gt.Partitions {
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata, rp.ErrorCode = p.Partition, p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	for _, g := range req.Groups {
		rg := kmsg.NewOffsetFetchResponseGroup()
		rg.Group = g.Group
		rg.Topics = s.fetchOffsets(g.Group, g.Topics)
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}

// fetchOffsets reads a group's committed offsets; nil topics means all.
func (s *Server) fetchOffsets(groupName string, topics []kmsg.OffsetFetchRequestGroupTopic) []kmsg.OffsetFetchResponseGroupTopic {
	all := topics == nil
	if all {
		for _, info := range s.b.Streams() {
			t := kmsg.OffsetFetchRequestGroupTopic{Topic: info.Name}
			for i := range info.Config.Partitions {
				t.Partitions = append(t.Partitions, int32(i))
			}
			topics = append(topics, t)
		}
	}
	var out []kmsg.OffsetFetchResponseGroupTopic
	for _, t := range topics {
		rt := kmsg.NewOffsetFetchResponseGroupTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch = p, -1, -1
			c, ok := s.b.CommittedOffset(groupName, t.Topic, p)
			if ok {
				rp.Offset, rp.Metadata = c.Offset, kmsg.StringPtr(c.Metadata)
			} else if all {
				continue
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		if !all || len(rt.Partitions) > 0 {
			out = append(out, rt)
		}
	}
	return out
}
