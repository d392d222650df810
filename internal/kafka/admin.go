package kafka

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/broker"
)

// Topic configs the front-end maps onto the stream's settings; the others
// are reported read-only with the value Gannet behaves by.
const (
	cfgRetentionMs     = "retention.ms"
	cfgRetentionBytes  = "retention.bytes"
	cfgMaxMessageBytes = "max.message.bytes"
)

var errUnknownConfig = errors.New("kafka: config not supported")

// setTopicConfig applies one Kafka topic config; nil resets it.
func setTopicConfig(cfg *broker.StreamConfig, name string, value *string) error {
	var n int64
	switch name {
	case cfgRetentionMs, cfgRetentionBytes, cfgMaxMessageBytes:
		if value != nil {
			var err error
			if n, err = strconv.ParseInt(*value, 10, 64); err != nil {
				return fmt.Errorf("%w: %s=%q is not a number", errInvalidConfig, name, *value)
			}
		}
	case "cleanup.policy":
		if value != nil && *value != "delete" {
			return fmt.Errorf("%w: cleanup.policy %q (only delete)", errUnknownConfig, *value)
		}
		return nil
	default:
		return fmt.Errorf("%w: %s", errUnknownConfig, name)
	}
	switch name {
	case cfgRetentionMs:
		// Up to Long.MAX_VALUE is valid in Kafka; an age a time.Duration
		// cannot hold would wrap around, so it keeps everything, as -1 does.
		cfg.RetentionAge = 0
		if n > 0 && n <= math.MaxInt64/int64(time.Millisecond) {
			cfg.RetentionAge = time.Duration(n) * time.Millisecond
		}
	case cfgRetentionBytes:
		cfg.RetentionBytes = max(n, 0)
	case cfgMaxMessageBytes:
		if n < 0 || n > 1<<30 {
			return fmt.Errorf("%w: %s=%d out of range", errInvalidConfig, name, n)
		}
		cfg.MaxMessageBytes = int(n)
	}
	return nil
}

var errInvalidConfig = errors.New("kafka: invalid config value")

func configErrorCode(err error) int16 {
	if errors.Is(err, errUnknownConfig) || errors.Is(err, errInvalidConfig) {
		return kerr.InvalidConfig.Code
	}
	return errorCode(err)
}

func (s *Server) createTopics(req *kmsg.CreateTopicsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, topicID(t.Topic)
		partitions := int(t.NumPartitions)
		if partitions == -1 {
			partitions = s.cfg.DefaultPartitions
		}
		if len(t.ReplicaAssignment) > 0 {
			partitions = len(t.ReplicaAssignment)
		}
		configs := make(map[string]*string, len(t.Configs))
		for _, c := range t.Configs {
			configs[c.Name] = c.Value
		}
		var err error
		switch {
		case !validTopicName(t.Topic):
			rt.ErrorCode = kerr.InvalidTopicException.Code
		case partitions <= 0 || partitions > 10000:
			rt.ErrorCode = kerr.InvalidPartitions.Code
		default:
			if _, serr := s.b.Stream(t.Topic); serr == nil {
				err = broker.ErrExists
			} else if req.ValidateOnly {
				_, err = topicConfig(partitions, configs)
			} else {
				err = s.createTopic(t.Topic, partitions, configs)
			}
			rt.ErrorCode = configErrorCode(err)
		}
		if err != nil {
			rt.ErrorMessage = kmsg.StringPtr(err.Error())
		}
		if rt.ErrorCode == 0 {
			rt.NumPartitions, rt.ReplicationFactor = int32(partitions), 1
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (s *Server) deleteTopics(req *kmsg.DeleteTopicsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	names := req.TopicNames
	for _, t := range req.Topics {
		if t.Topic != nil {
			names = append(names, *t.Topic)
		}
	}
	for _, name := range names {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic, rt.TopicID = kmsg.StringPtr(name), topicID(name)
		if err := s.b.DeleteStream(name); err != nil {
			rt.ErrorCode = errorCode(err)
			rt.ErrorMessage = kmsg.StringPtr(err.Error())
		} else {
			s.prod.forgetTopic(name)
			s.txns.forgetTopic(name)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// createPartitions grows topics (Kafka CreatePartitions). Gannet is one
// broker, so explicit replica assignments say nothing it could act on; as
// in a single-broker Kafka cluster they may only name this broker, and are
// otherwise refused with INVALID_REPLICA_ASSIGNMENT.
func (s *Server) createPartitions(req *kmsg.CreatePartitionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	seen := make(map[string]int, len(req.Topics))
	for _, t := range req.Topics {
		seen[t.Topic]++
	}
	for _, t := range req.Topics {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = t.Topic
		code, msg := s.growTopic(t, req.ValidateOnly, seen[t.Topic] > 1)
		rt.ErrorCode = code
		if msg != "" {
			rt.ErrorMessage = kmsg.StringPtr(msg)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (s *Server) growTopic(t kmsg.CreatePartitionsRequestTopic, validateOnly, duplicate bool) (int16, string) {
	if duplicate {
		return kerr.InvalidRequest.Code, "topic named more than once in the request"
	}
	info, err := s.b.Stream(t.Topic)
	if err != nil {
		return errorCode(err), err.Error()
	}
	if err := s.b.CheckAddPartitions(t.Topic, int(t.Count)); err != nil {
		return growthErrorCode(err)
	}
	if t.Assignment != nil {
		if len(t.Assignment) != int(t.Count)-info.Config.Partitions {
			return kerr.InvalidReplicaAssignment.Code, fmt.Sprintf(
				"%d assignments for %d new partitions", len(t.Assignment), int(t.Count)-info.Config.Partitions)
		}
		for _, a := range t.Assignment {
			if len(a.Replicas) != 1 || a.Replicas[0] != nodeID {
				return kerr.InvalidReplicaAssignment.Code, fmt.Sprintf("Gannet is one broker (node %d)", nodeID)
			}
		}
	}
	if validateOnly {
		return 0, ""
	}
	return growthErrorCode(s.b.AddPartitions(t.Topic, int(t.Count)))
}

// growthErrorCode maps a refused growth: a bad count is INVALID_PARTITIONS.
func growthErrorCode(err error) (int16, string) {
	var inv *broker.InvalidArgumentError
	switch {
	case err == nil:
		return 0, ""
	case errors.As(err, &inv):
		return kerr.InvalidPartitions.Code, inv.Reason
	}
	return errorCode(err), err.Error()
}

func (s *Server) deleteRecords(req *kmsg.DeleteRecordsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewDeleteRecordsResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewDeleteRecordsResponseTopicPartition()
			rp.Partition = p.Partition
			part, err := s.b.Partition(t.Topic, p.Partition)
			if err == nil {
				off := p.Offset
				if off == -1 {
					off = part.EndOffset()
				}
				if off < 0 || off > part.EndOffset() {
					err = broker.ErrOffsetOutOfRange
				} else if off > part.StartOffset() {
					err = part.SetStartOffset(off)
				}
				rp.LowWatermark = part.StartOffset()
			}
			rp.ErrorCode = errorCode(err)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
