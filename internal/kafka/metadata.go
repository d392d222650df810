package kafka

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/batch"
	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/storage"
)

// Gannet is one Kafka node: it leads every partition at leader epoch 0.
const (
	nodeID      int32 = 0
	leaderEpoch int32 = 0
	clusterID         = "gannet"
)

// advertised returns the host and port Metadata names for this node.
func advertised(addr net.Addr, adv string) (string, int32, error) {
	hostport := adv
	if hostport == "" {
		if addr == nil {
			return "", 0, errors.New("kafka: the listener address is required")
		}
		hostport = addr.String()
	}
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", 0, fmt.Errorf("kafka: advertised address %q: %w (want host:port)", hostport, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("kafka: advertised address %q: bad port", hostport)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		// A wildcard bind cannot be dialled; loopback works for local
		// clients, and --kafka-advertised-addr is there for the rest.
		host = "127.0.0.1"
	}
	return host, int32(port), nil
}

// topicID derives a stable topic id from the name, for Metadata v10+.
func topicID(name string) [16]byte {
	sum := sha256.Sum256([]byte("gannet-topic:" + name))
	var id [16]byte
	copy(id[:], sum[:16])
	return id
}

// errorCode maps a core error onto a Kafka error code.
func errorCode(err error) int16 {
	var inv *broker.InvalidArgumentError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, broker.ErrNotFound), errors.Is(err, broker.ErrNoSuchPartition):
		return kerr.UnknownTopicOrPartition.Code
	case errors.Is(err, broker.ErrMessageTooLarge), errors.Is(err, batch.ErrTooLarge):
		return kerr.MessageTooLarge.Code
	case errors.Is(err, batch.ErrUnsupported):
		// Before the corrupt errors: storage refuses a batch of an unknown
		// codec as invalid, wrapping the decoder's ErrUnsupported.
		return kerr.UnsupportedForMessageFormat.Code
	case errors.Is(err, storage.ErrInvalidBatch), errors.Is(err, batch.ErrCorrupt), errors.Is(err, batch.ErrShort):
		return kerr.CorruptMessage.Code
	case errors.Is(err, broker.ErrOffsetOutOfRange):
		return kerr.OffsetOutOfRange.Code
	case errors.Is(err, broker.ErrExists):
		return kerr.TopicAlreadyExists.Code
	case errors.Is(err, broker.ErrQueueFull):
		return kerr.PolicyViolation.Code
	case errors.Is(err, broker.ErrLocked):
		return kerr.TopicAuthorizationFailed.Code
	case errors.As(err, &inv):
		return kerr.InvalidRequest.Code
	case errors.Is(err, broker.ErrClosed):
		return kerr.NotLeaderForPartition.Code
	}
	return kerr.KafkaStorageError.Code
}

// validTopicName follows Kafka's rule for topics created over Kafka.
func validTopicName(name string) bool {
	if name == "" || len(name) > 249 || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Server) brokers() []kmsg.MetadataResponseBroker {
	b := kmsg.NewMetadataResponseBroker()
	b.NodeID, b.Host, b.Port = nodeID, s.host, s.port
	return []kmsg.MetadataResponseBroker{b}
}

// topicConfig is the stream config of a Kafka topic created with configs.
func topicConfig(partitions int, configs map[string]*string) (broker.StreamConfig, error) {
	cfg := broker.StreamConfig{Kind: broker.KindTopic, Partitions: partitions, Durable: true}
	for k, v := range configs {
		if err := setTopicConfig(&cfg, k, v); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// createTopic declares a Kafka topic as a durable topic stream.
func (s *Server) createTopic(name string, partitions int, configs map[string]*string) error {
	cfg, err := topicConfig(partitions, configs)
	if err != nil {
		return err
	}
	_, created, err := s.b.DeclareStream(name, cfg)
	if err == nil && !created {
		err = broker.ErrExists
	}
	return err
}

func (s *Server) metadata(req *kmsg.MetadataRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	resp.Brokers = s.brokers()
	resp.ClusterID = kmsg.StringPtr(clusterID)
	resp.ControllerID = nodeID
	var names []string
	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		for _, info := range s.b.Streams() {
			names = append(names, info.Name)
		}
	} else {
		for _, t := range req.Topics {
			if t.Topic != nil {
				names = append(names, *t.Topic)
			}
		}
	}
	autoCreate := !s.cfg.DisableAutoCreate && (req.Version < 4 || req.AllowAutoTopicCreation)
	for _, name := range names {
		t := kmsg.NewMetadataResponseTopic()
		t.Topic = kmsg.StringPtr(name)
		t.TopicID = topicID(name)
		info, err := s.b.Stream(name)
		if errors.Is(err, broker.ErrNotFound) && autoCreate && !all {
			if !validTopicName(name) {
				t.ErrorCode = kerr.InvalidTopicException.Code
				resp.Topics = append(resp.Topics, t)
				continue
			}
			if err = s.createTopic(name, s.cfg.DefaultPartitions, nil); errors.Is(err, broker.ErrExists) {
				err = nil // created by someone else meanwhile
			}
			if err == nil {
				info, err = s.b.Stream(name)
			}
		}
		if err != nil {
			t.ErrorCode = errorCode(err)
			resp.Topics = append(resp.Topics, t)
			continue
		}
		for i := range info.Config.Partitions {
			p := kmsg.NewMetadataResponseTopicPartition()
			p.Partition = int32(i)
			p.Leader, p.LeaderEpoch = nodeID, leaderEpoch
			p.Replicas, p.ISR = []int32{nodeID}, []int32{nodeID}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

func (s *Server) describeCluster(req *kmsg.DescribeClusterRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.ClusterID = clusterID
	resp.ControllerID = nodeID
	resp.EndpointType = req.EndpointType
	b := kmsg.NewDescribeClusterResponseBroker()
	b.NodeID, b.Host, b.Port = nodeID, s.host, s.port
	resp.Brokers = append(resp.Brokers, b)
	return resp
}

func (s *Server) findCoordinator(req *kmsg.FindCoordinatorRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	resp.NodeID, resp.Host, resp.Port = nodeID, s.host, s.port
	for _, key := range req.CoordinatorKeys {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key, c.NodeID, c.Host, c.Port = key, nodeID, s.host, s.port
		if req.CoordinatorType != 0 && req.CoordinatorType != 1 {
			c.ErrorCode = kerr.InvalidRequest.Code
		}
		resp.Coordinators = append(resp.Coordinators, c)
	}
	if req.CoordinatorType != 0 && req.CoordinatorType != 1 {
		resp.ErrorCode = kerr.InvalidRequest.Code
	}
	return resp
}
