package sqs

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gannet-mq/gannet/internal/broker"
	"github.com/gannet-mq/gannet/internal/sqs/wire"
)

// Limits and defaults AWS documents.
const (
	maxMessageSizeLimit = 1 << 20 // MaximumMessageSize's ceiling
	maxBatchEntries     = 10
	maxVisibility       = 12 * time.Hour
	maxDelay            = 15 * time.Minute
	maxWait             = 20 * time.Second
	fifoDedupWindow     = 5 * time.Minute
	maxTags             = 50
)

// Keys in StreamConfig.Attributes: queue attributes as "sqs.<Name>", tags
// as "sqs.tag.<key>", and the creation time the receipt handles carry.
const (
	attrPrefix   = "sqs."
	tagPrefix    = "sqs.tag."
	createdKey   = "sqs.CreatedTimestamp"
	modifiedKey  = "sqs.LastModifiedTimestamp"
	createdMsKey = "sqs.created-ms"
)

// attributeSpec describes one settable queue attribute.
type attributeSpec struct {
	def        string
	validate   func(v string) error // nil: any value
	fifoOnly   bool
	createOnly bool
}

func intRange(name string, lo, hi int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			return wire.Errorf(wire.KindInvalidAttributeValue, "Invalid value for the parameter %s.", name)
		}
		return nil
	}
}

func oneOf(name string, values ...string) func(string) error {
	return func(v string) error {
		if slices.Contains(values, v) {
			return nil
		}
		return wire.Errorf(wire.KindInvalidAttributeValue, "Invalid value for the parameter %s.", name)
	}
}

// settable lists the attributes CreateQueue and SetQueueAttributes accept.
var settable = map[string]attributeSpec{
	"DelaySeconds":                  {def: "0", validate: intRange("DelaySeconds", 0, 900)},
	"MaximumMessageSize":            {def: strconv.Itoa(maxMessageSizeLimit), validate: intRange("MaximumMessageSize", 1024, maxMessageSizeLimit)},
	"MessageRetentionPeriod":        {def: "345600", validate: intRange("MessageRetentionPeriod", 60, 1209600)},
	"ReceiveMessageWaitTimeSeconds": {def: "0", validate: intRange("ReceiveMessageWaitTimeSeconds", 0, 20)},
	"VisibilityTimeout":             {def: "30", validate: intRange("VisibilityTimeout", 0, 43200)},
	"Policy":                        {},
	"RedrivePolicy":                 {},
	"RedriveAllowPolicy":            {},
	"KmsMasterKeyId":                {},
	"KmsDataKeyReusePeriodSeconds":  {def: "300", validate: intRange("KmsDataKeyReusePeriodSeconds", 60, 86400)},
	"SqsManagedSseEnabled":          {def: "true", validate: oneOf("SqsManagedSseEnabled", "true", "false")},
	"FifoQueue":                     {validate: oneOf("FifoQueue", "true", "false"), createOnly: true},
	"ContentBasedDeduplication":     {def: "false", validate: oneOf("ContentBasedDeduplication", "true", "false"), fifoOnly: true},
	"DeduplicationScope":            {def: "queue", validate: oneOf("DeduplicationScope", "messageGroup", "queue"), fifoOnly: true},
	"FifoThroughputLimit":           {def: "perQueue", validate: oneOf("FifoThroughputLimit", "perQueue", "perMessageGroupId"), fifoOnly: true},
}

// readOnly lists the attributes GetQueueAttributes computes.
var readOnly = []string{
	"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
	"ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp", "QueueArn",
}

var queueNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

func validQueueName(name string, fifo bool) bool {
	if fifo {
		base, ok := strings.CutSuffix(name, ".fifo")
		return ok && len(name) <= 80 && queueNamePattern.MatchString(base)
	}
	return queueNamePattern.MatchString(name)
}

// queue is a queue's SQS view: its name and parsed attributes.
type queue struct {
	name         string
	cfg          broker.StreamConfig
	fifo         bool
	contentDedup bool
	visibility   time.Duration
	delay        time.Duration
	wait         time.Duration
	maxSize      int
	retention    time.Duration
	createdMs    int64
}

// attr returns a stored attribute or its default.
func (q *queue) attr(name string) string {
	if v, ok := q.cfg.Attributes[attrPrefix+name]; ok {
		return v
	}
	if name == "FifoQueue" {
		if q.fifo {
			return "true"
		}
		return "false"
	}
	return settable[name].def
}

func seconds(v string) time.Duration {
	n, _ := strconv.ParseInt(v, 10, 64)
	return time.Duration(n) * time.Second
}

func newQueueView(name string, cfg broker.StreamConfig, maxMsg int) *queue {
	q := &queue{name: name, cfg: cfg}
	q.fifo = cfg.Attributes[attrPrefix+"FifoQueue"] == "true"
	q.contentDedup = q.attr("ContentBasedDeduplication") == "true"
	q.visibility = seconds(q.attr("VisibilityTimeout"))
	q.delay = seconds(q.attr("DelaySeconds"))
	q.wait = seconds(q.attr("ReceiveMessageWaitTimeSeconds"))
	q.retention = seconds(q.attr("MessageRetentionPeriod"))
	q.maxSize, _ = strconv.Atoi(q.attr("MaximumMessageSize"))
	q.maxSize = min(q.maxSize, maxMsg)
	q.createdMs, _ = strconv.ParseInt(cfg.Attributes[createdMsKey], 10, 64)
	return q
}

// redrivePolicy is the RedrivePolicy attribute.
type redrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"maxReceiveCount"`
}

func parseRedrivePolicy(v string) (redrivePolicy, error) {
	var raw struct {
		DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
	}
	bad := func(reason string) error {
		return wire.InvalidParameter("RedrivePolicy", v, reason)
	}
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		return redrivePolicy{}, bad("Redrive policy is not a valid JSON map.")
	}
	if raw.DeadLetterTargetArn == "" {
		return redrivePolicy{}, bad("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
	}
	count := strings.Trim(string(raw.MaxReceiveCount), `"`)
	n, err := strconv.Atoi(count)
	if err != nil {
		return redrivePolicy{}, bad("Redrive policy does not contain mandatory attribute: maxReceiveCount.")
	}
	if n < 1 || n > 1000 {
		return redrivePolicy{}, bad("Invalid value for maxReceiveCount: " + count + ", valid values are from 1 to 1000 both inclusive.")
	}
	return redrivePolicy{raw.DeadLetterTargetArn, n}, nil
}

func (p redrivePolicy) String() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// redriveAllowPolicy is the RedriveAllowPolicy attribute.
type redriveAllowPolicy struct {
	RedrivePermission string   `json:"redrivePermission"`
	SourceQueueArns   []string `json:"sourceQueueArns,omitempty"`
}

func parseRedriveAllowPolicy(v string) (redriveAllowPolicy, error) {
	var p redriveAllowPolicy
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return p, wire.InvalidParameter("RedriveAllowPolicy", v, "Redrive allow policy is not a valid JSON map.")
	}
	switch p.RedrivePermission {
	case "allowAll", "denyAll":
	case "byQueue":
		if len(p.SourceQueueArns) == 0 || len(p.SourceQueueArns) > 10 {
			return p, wire.InvalidParameter("RedriveAllowPolicy", v, "byQueue needs 1 to 10 sourceQueueArns.")
		}
	default:
		return p, wire.InvalidParameter("RedriveAllowPolicy", v, "redrivePermission must be allowAll, denyAll or byQueue.")
	}
	return p, nil
}

// allows tells whether a queue with this policy may be sourceArn's dead-letter queue.
func (p redriveAllowPolicy) allows(sourceArn string) bool {
	switch p.RedrivePermission {
	case "denyAll":
		return false
	case "byQueue":
		return slices.Contains(p.SourceQueueArns, sourceArn)
	}
	return true
}

// checkAttributes validates attributes for CreateQueue (create) or
// SetQueueAttributes on a queue of the given type.
func (s *Server) checkAttributes(name string, attrs map[string]string, fifo, create bool) error {
	for k, v := range attrs {
		// Read-only attributes (QueueArn, counters) are unknown here, as in SQS.
		spec, ok := settable[k]
		if !ok || (spec.createOnly && !create) || (spec.fifoOnly && !fifo) {
			return wire.Errorf(wire.KindInvalidAttributeName, "Unknown Attribute %s.", k)
		}
		if spec.validate != nil {
			if err := spec.validate(v); err != nil {
				return err
			}
		}
		switch k {
		case "RedrivePolicy":
			if v == "" {
				continue
			}
			p, err := parseRedrivePolicy(v)
			if err != nil {
				return err
			}
			dlq, err := s.queueByArn(p.DeadLetterTargetArn)
			if err != nil {
				return wire.InvalidParameter("RedrivePolicy", v, "Dead-letter target does not exist.")
			}
			if dlq.fifo != fifo {
				return wire.InvalidParameter("RedrivePolicy", v, "Dead-letter queue must be same type of queue as the source.")
			}
			if dlq.name == name {
				return wire.InvalidParameter("RedrivePolicy", v, "A queue cannot be its own dead-letter queue.")
			}
			if allow := dlq.attr("RedriveAllowPolicy"); allow != "" {
				if p, err := parseRedriveAllowPolicy(allow); err == nil && !p.allows(s.arn(name)) {
					return wire.InvalidParameter("RedrivePolicy", v, "The dead-letter queue's RedriveAllowPolicy does not allow this source queue.")
				}
			}
		case "RedriveAllowPolicy":
			if v == "" {
				continue
			}
			if _, err := parseRedriveAllowPolicy(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyAttributes stores attributes and derives the core settings from them.
func applyAttributes(cfg *broker.StreamConfig, attrs map[string]string, now time.Time) {
	if cfg.Attributes == nil {
		cfg.Attributes = map[string]string{}
	}
	for k, v := range attrs {
		if k == "RedrivePolicy" && v != "" {
			p, _ := parseRedrivePolicy(v)
			v = p.String()
		}
		if v == "" && (k == "RedrivePolicy" || k == "RedriveAllowPolicy" || k == "Policy") {
			delete(cfg.Attributes, attrPrefix+k)
		} else {
			cfg.Attributes[attrPrefix+k] = v
		}
		if k == "RedrivePolicy" {
			cfg.Group.DeliveryLimit, cfg.Group.DeadLetter = 0, nil
			if p, err := parseRedrivePolicy(v); err == nil {
				cfg.Group.DeliveryLimit = p.MaxReceiveCount
				cfg.Group.DeadLetter = &broker.DeadLetterTarget{RoutingKey: arnName(p.DeadLetterTargetArn)}
			}
		}
	}
	cfg.Attributes[modifiedKey] = strconv.FormatInt(now.Unix(), 10)
}

// arn is a queue's ARN.
func (s *Server) arn(name string) string {
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", s.cfg.Region, s.cfg.AccountID, name)
}

// arnName returns the queue name an SQS ARN ends with, or "".
func arnName(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" {
		return ""
	}
	return parts[5]
}

func (s *Server) queueByArn(arn string) (*queue, error) {
	name := arnName(arn)
	if name == "" {
		return nil, wire.NonExistentQueue()
	}
	return s.queue(name)
}
