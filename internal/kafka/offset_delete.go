package kafka

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// offsetDelete answers OffsetDelete (KIP-496) as Kafka does: partitions of
// unknown topics get UNKNOWN_TOPIC_OR_PARTITION, the group's rules decide
// the rest (see deleteOffsets), and a group-level error replaces every
// partition's answer. Deletions are durable before the reply.
func (s *Server) offsetDelete(req *kmsg.OffsetDeleteRequest) reply {
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	if req.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return reply{resp: resp}
	}
	resp.Topics = make([]kmsg.OffsetDeleteResponseTopic, len(req.Topics))
	for i, t := range req.Topics {
		rt := &resp.Topics[i]
		*rt = kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.OffsetDeleteResponseTopicPartition, len(t.Partitions))
		for j, p := range t.Partitions {
			rp := &rt.Partitions[j]
			*rp = kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			if _, err := s.b.Partition(t.Topic, p.Partition); err != nil {
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			}
		}
	}
	code, deleted := s.groups.deleteOffsets(req.Group, resp.Topics)
	if code != 0 {
		resp.ErrorCode, resp.Topics = code, nil
		return reply{resp: resp}
	}
	if !deleted {
		return reply{resp: resp}
	}
	return reply{wait: func() kmsg.Response {
		if err := s.b.SyncState(s.ctx); err != nil {
			resp.ErrorCode, resp.Topics = kerr.CoordinatorNotAvailable.Code, nil
		}
		return resp
	}}
}

// deleteOffsets applies Kafka's group rules to the partitions of topics not
// already answered with an error, and deletes the offsets allowed to go. A
// group without members loses any offset asked for; a consumer-protocol
// group with members keeps those of the topics its members subscribe to
// (GROUP_SUBSCRIBED_TO_TOPIC) and loses the others; any other group with
// members refuses as a whole (NON_EMPTY_GROUP). It returns the group-level
// error code and whether an offset was deleted.
func (co *coordinator) deleteOffsets(groupName string, topics []kmsg.OffsetDeleteResponseTopic) (int16, bool) {
	hadOffsets := slices.Contains(co.s.b.CursorGroups(), groupName)
	co.mu.Lock()
	defer co.mu.Unlock()
	g := co.group(groupName, false)
	if g == nil && !hadOffsets {
		return kerr.GroupIDNotFound.Code, false
	}
	active := g != nil && (len(g.members) > 0 || g.state != groupEmpty)
	var subscribed map[string]bool
	everyTopic := false // subscriptions unknown: Kafka then counts every topic as subscribed
	if active {
		if g.protocolType != "consumer" {
			return kerr.NonEmptyGroup.Code, false
		}
		subscribed, everyTopic = subscribedTopics(g)
	}
	deleted := false
	for i := range topics {
		t := &topics[i]
		for j := range t.Partitions {
			p := &t.Partitions[j]
			switch {
			case p.ErrorCode != 0:
			case active && (everyTopic || subscribed[t.Topic]):
				p.ErrorCode = kerr.GroupSubscribedToTopic.Code
			default:
				deleted = co.s.b.DeleteOffset(groupName, t.Topic, p.Partition) || deleted
			}
		}
	}
	// Kafka drops an empty group once its last offset is gone.
	if deleted && g != nil && !active && !slices.Contains(co.s.b.CursorGroups(), groupName) {
		delete(co.groups, groupName)
	}
	return 0, deleted
}

// subscribedTopics is the union of the topics the members subscribe to,
// from their metadata for the group's protocol. everyTopic is true when
// that is unknown (no protocol chosen yet, or metadata that is not the
// consumer protocol's), as Kafka then treats every topic as subscribed.
func subscribedTopics(g *group) (topics map[string]bool, everyTopic bool) {
	if g.protocol == "" {
		return nil, true
	}
	topics = map[string]bool{}
	for _, m := range g.members {
		var meta kmsg.ConsumerMemberMetadata
		if err := meta.ReadFrom(metadataFor(m, g.protocol)); err != nil {
			return nil, true
		}
		for _, t := range meta.Topics {
			topics[t] = true
		}
	}
	return topics, false
}
