package broker

// StreamKind tells how a stream retains records.
type StreamKind int

const (
	// KindTopic keeps records by time and size (Kafka topics, Redis streams).
	KindTopic StreamKind = iota
	// KindQueue keeps records until its own shared group settles them.
	KindQueue
)

func (k StreamKind) String() string {
	if k == KindQueue {
		return "queue"
	}
	return "topic"
}

// GroupKind tells how a group tracks what it has read.
type GroupKind int

const (
	// GroupShared hands records to competing consumers and tracks each delivery.
	GroupShared GroupKind = iota
	// GroupCursor keeps one committed offset per partition.
	GroupCursor
)

func (k GroupKind) String() string {
	if k == GroupCursor {
		return "cursor"
	}
	return "shared"
}
