package broker

import (
	"fmt"
	"reflect"
	"time"
)

// Overflow says what a full queue does with one more message.
type Overflow string

const (
	OverflowDropHead      Overflow = "drop-head"      // the oldest ready message is dead-lettered
	OverflowRejectPublish Overflow = "reject-publish" // the new message is refused
	// OverflowRejectPublishDLX refuses the new message like reject-publish
	// and dead-letters it with reason maxlen, as RabbitMQ's classic queues do.
	OverflowRejectPublishDLX Overflow = "reject-publish-dlx"
)

// rejects tells whether a full queue refuses new messages.
func (o Overflow) rejects() bool { return o == OverflowRejectPublish || o == OverflowRejectPublishDLX }

// DeadLetterTarget says where rejected, expired and over-limit records go:
// published to Exchange ("" is the default exchange, which routes to the
// queue named by the routing key) with RoutingKey, or with the record's own
// routing key when RoutingKey is empty.
type DeadLetterTarget struct {
	Exchange   string `json:"exchange"`
	RoutingKey string `json:"routing_key,omitempty"`
}

// GroupConfig configures a group. For a queue it is the queue's own group.
type GroupConfig struct {
	Kind GroupKind `json:"kind"`
	// DeliveryLimit dead-letters a record released this many times; 0 is no limit.
	DeliveryLimit int               `json:"delivery_limit,omitempty"`
	DeadLetter    *DeadLetterTarget `json:"dead_letter,omitempty"`
	// SingleActiveConsumer delivers to the first consumer only, until it leaves.
	SingleActiveConsumer bool `json:"single_active_consumer,omitempty"`
	// OrderByKey holds back records whose key has a record in flight, so each
	// key (SQS message group) is consumed strictly in order.
	OrderByKey bool `json:"order_by_key,omitempty"`
	// MessageTTL expires records older than this at delivery; 0 keeps them.
	MessageTTL time.Duration `json:"message_ttl,omitempty"`
}

// StreamConfig configures a stream when it is declared.
type StreamConfig struct {
	Kind       StreamKind `json:"kind"`
	Partitions int        `json:"partitions"` // 0 means 1; queues have MaxPriority+1
	// MaxPriority makes a queue a priority queue (x-max-priority): one
	// partition per level 0..MaxPriority, and receives drain higher levels
	// first. A message's level is its priority header, capped here.
	MaxPriority int `json:"max_priority,omitempty"`
	// Durable streams survive a restart; others are deleted when the broker starts.
	Durable bool `json:"durable"`
	// Owner, when set, names the connection that owns an exclusive queue;
	// only it may use the queue and the queue goes when DeleteOwnedBy(owner) runs.
	Owner string `json:"owner,omitempty"`
	// AutoDelete deletes a queue when its last consumer leaves.
	AutoDelete bool `json:"auto_delete,omitempty"`

	RetentionAge   time.Duration `json:"retention_age,omitempty"`
	RetentionBytes int64         `json:"retention_bytes,omitempty"`

	MaxLength      int64    `json:"max_length,omitempty"`
	MaxLengthBytes int64    `json:"max_length_bytes,omitempty"`
	Overflow       Overflow `json:"overflow,omitempty"`

	// Expires deletes the stream once it has gone this long without a
	// consumer, a receive or a redeclaration (x-expires); 0 keeps it.
	Expires time.Duration `json:"expires,omitempty"`

	// DedupWindow drops a second message with the same message-id header
	// arriving within the window; 0 turns dedup off.
	DedupWindow     time.Duration `json:"dedup_window,omitempty"`
	MaxMessageBytes int           `json:"max_message_bytes,omitempty"` // 0 = broker default

	// Group configures a queue's own shared group.
	Group GroupConfig `json:"group"`
	// Attributes are protocol settings the core stores and compares but does
	// not interpret (AMQP arguments, SQS attributes and tags).
	Attributes map[string]string `json:"attributes,omitempty"`
}

func (c StreamConfig) normalized() StreamConfig {
	if c.Partitions <= 0 || c.Kind == KindQueue {
		c.Partitions = 1
	}
	if c.Kind == KindQueue && c.MaxPriority > 0 {
		c.Partitions = c.MaxPriority + 1
	}
	if c.Kind == KindQueue {
		c.Group.Kind = GroupShared
	}
	if c.Overflow == "" {
		c.Overflow = OverflowDropHead
	}
	if len(c.Attributes) == 0 {
		c.Attributes = nil
	}
	return c
}

// equivalent tells whether a redeclaration matches, ignoring what may differ.
func (c StreamConfig) equivalent(other StreamConfig) bool {
	a, b := c.normalized(), other.normalized()
	a.Owner, b.Owner = "", ""
	return reflect.DeepEqual(a, b)
}

func (c StreamConfig) validate() error {
	switch {
	case c.Kind != KindQueue && c.Kind != KindTopic:
		return &InvalidArgumentError{"kind", "unknown stream kind"}
	case c.Partitions > MaxPartitions:
		return &InvalidArgumentError{"partitions", fmt.Sprintf("at most %d", MaxPartitions)}
	case c.MaxPriority < 0 || c.MaxPriority > MaxPriorityLevel:
		return &InvalidArgumentError{"max priority", "must be between 0 and 255"}
	case c.MaxPriority > 0 && c.Kind != KindQueue:
		return &InvalidArgumentError{"max priority", "only queues have priorities"}
	case c.MaxLength < 0 || c.MaxLengthBytes < 0:
		return &InvalidArgumentError{"max length", "must not be negative"}
	case c.Overflow != "" && c.Overflow != OverflowDropHead && !c.Overflow.rejects():
		return &InvalidArgumentError{"overflow", "must be drop-head, reject-publish or reject-publish-dlx"}
	case c.Group.DeliveryLimit < 0:
		return &InvalidArgumentError{"delivery limit", "must not be negative"}
	case c.Group.MessageTTL < 0 || c.DedupWindow < 0 || c.RetentionAge < 0 || c.Expires < 0:
		return &InvalidArgumentError{"duration", "must not be negative"}
	}
	return nil
}
