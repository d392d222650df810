package kafka

import (
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gannet-mq/gannet/internal/broker"
)

// configEntry is one config as DescribeConfigs reports it.
type configEntry struct {
	name      string
	value     string
	readOnly  bool
	isDefault bool
	kind      kmsg.ConfigType
}

// topicConfigs reports a stream's settings as Kafka topic configs.
func (s *Server) topicConfigs(cfg broker.StreamConfig) []configEntry {
	retMs := int64(-1)
	if cfg.RetentionAge > 0 {
		retMs = cfg.RetentionAge.Milliseconds()
	}
	retBytes := int64(-1)
	if cfg.RetentionBytes > 0 {
		retBytes = cfg.RetentionBytes
	}
	maxBytes := cfg.MaxMessageBytes
	if maxBytes == 0 {
		maxBytes = s.maxMessageBytes()
	}
	return []configEntry{
		{name: cfgRetentionMs, value: strconv.FormatInt(retMs, 10), isDefault: cfg.RetentionAge == 0, kind: kmsg.ConfigTypeLong},
		{name: cfgRetentionBytes, value: strconv.FormatInt(retBytes, 10), isDefault: cfg.RetentionBytes == 0, kind: kmsg.ConfigTypeLong},
		{name: cfgMaxMessageBytes, value: strconv.Itoa(maxBytes), isDefault: cfg.MaxMessageBytes == 0, kind: kmsg.ConfigTypeInt},
		{name: "cleanup.policy", value: "delete", readOnly: true, isDefault: true, kind: kmsg.ConfigTypeList},
		{name: "message.timestamp.type", value: "CreateTime", readOnly: true, isDefault: true, kind: kmsg.ConfigTypeString},
		{name: "min.insync.replicas", value: "1", readOnly: true, isDefault: true, kind: kmsg.ConfigTypeInt},
		{name: "compression.type", value: "producer", readOnly: true, isDefault: true, kind: kmsg.ConfigTypeString},
	}
}

func (s *Server) brokerConfigs() []configEntry {
	return []configEntry{
		{name: "auto.create.topics.enable", value: strconv.FormatBool(!s.cfg.DisableAutoCreate), readOnly: true, kind: kmsg.ConfigTypeBoolean},
		{name: "num.partitions", value: strconv.Itoa(s.cfg.DefaultPartitions), readOnly: true, kind: kmsg.ConfigTypeInt},
		{name: "message.max.bytes", value: strconv.Itoa(s.maxMessageBytes()), readOnly: true, kind: kmsg.ConfigTypeInt},
		{name: "socket.request.max.bytes", value: strconv.Itoa(s.cfg.MaxRequestBytes), readOnly: true, kind: kmsg.ConfigTypeInt},
		{name: "default.replication.factor", value: "1", readOnly: true, isDefault: true, kind: kmsg.ConfigTypeInt},
		{name: "offsets.topic.replication.factor", value: "1", readOnly: true, isDefault: true, kind: kmsg.ConfigTypeShort},
	}
}

func (s *Server) maxMessageBytes() int {
	if s.cfg.MaxMessageBytes > 0 {
		return s.cfg.MaxMessageBytes
	}
	return broker.DefaultMaxMessageBytes
}

func (s *Server) describeConfigs(req *kmsg.DescribeConfigsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, r := range req.Resources {
		rr := kmsg.NewDescribeConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		var entries []configEntry
		source := kmsg.ConfigSourceDynamicTopicConfig
		switch r.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			info, err := s.b.Stream(r.ResourceName)
			if err != nil {
				rr.ErrorCode = errorCode(err)
				resp.Resources = append(resp.Resources, rr)
				continue
			}
			entries = s.topicConfigs(info.Config)
		case kmsg.ConfigResourceTypeBroker:
			entries = s.brokerConfigs()
			source = kmsg.ConfigSourceStaticBrokerConfig
		default:
			rr.ErrorCode = kerr.InvalidRequest.Code
			rr.ErrorMessage = kmsg.StringPtr("only topic and broker configs are described")
			resp.Resources = append(resp.Resources, rr)
			continue
		}
		for _, e := range entries {
			if r.ConfigNames != nil && !slices.Contains(r.ConfigNames, e.name) {
				continue
			}
			c := kmsg.NewDescribeConfigsResponseResourceConfig()
			c.Name, c.Value = e.name, kmsg.StringPtr(e.value)
			c.ReadOnly, c.IsDefault, c.ConfigType = e.readOnly, e.isDefault, e.kind
			c.Source = source
			if e.isDefault {
				c.Source = kmsg.ConfigSourceDefaultConfig
			}
			rr.Configs = append(rr.Configs, c)
		}
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}

// alterTopic changes a topic's settings unless validateOnly; a resource
// that is not a topic is refused.
func (s *Server) alterTopic(typ kmsg.ConfigResourceType, name string, validateOnly bool, apply func(*broker.StreamConfig) error) (int16, *string) {
	if typ != kmsg.ConfigResourceTypeTopic {
		return kerr.InvalidRequest.Code, kmsg.StringPtr("only topic configs can be altered")
	}
	var err error
	if validateOnly {
		var info broker.StreamInfo
		if info, err = s.b.Stream(name); err == nil {
			err = apply(&info.Config)
		}
	} else {
		_, err = s.b.UpdateStream(name, apply)
	}
	if err != nil {
		return configErrorCode(err), kmsg.StringPtr(err.Error())
	}
	return 0, nil
}

// alterConfigs replaces a topic's whole config set: what is not named
// returns to its default, as in Kafka.
func (s *Server) alterConfigs(req *kmsg.AlterConfigsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, r := range req.Resources {
		rr := kmsg.NewAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		rr.ErrorCode, rr.ErrorMessage = s.alterTopic(r.ResourceType, r.ResourceName, req.ValidateOnly, func(cfg *broker.StreamConfig) error {
			for _, name := range []string{cfgRetentionMs, cfgRetentionBytes, cfgMaxMessageBytes} {
				setTopicConfig(cfg, name, nil)
			}
			for _, c := range r.Configs {
				if err := setTopicConfig(cfg, c.Name, c.Value); err != nil {
					return err
				}
			}
			return nil
		})
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}

func (s *Server) incrementalAlterConfigs(req *kmsg.IncrementalAlterConfigsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, r := range req.Resources {
		rr := kmsg.NewIncrementalAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		rr.ErrorCode, rr.ErrorMessage = s.alterTopic(r.ResourceType, r.ResourceName, req.ValidateOnly, func(cfg *broker.StreamConfig) error {
			for _, c := range r.Configs {
				var err error
				switch c.Op {
				case kmsg.IncrementalAlterConfigOpSet:
					err = setTopicConfig(cfg, c.Name, c.Value)
				case kmsg.IncrementalAlterConfigOpDelete:
					err = setTopicConfig(cfg, c.Name, nil)
				default:
					err = errInvalidConfig // APPEND and SUBTRACT apply to lists only
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}
