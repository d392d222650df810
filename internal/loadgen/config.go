package loadgen

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// GeneratorGCPercent is the load generator's GOGC unless the environment
// sets one (cmd/gannet-bench). The generator shares the machine with the
// broker it measures; at Go's default of 100 its garbage collector (marking,
// and the sweeper yielding the processor) took a quarter of its CPU in a
// Kafka run on the 2-core benchmark VM, CPU the broker then lacked:
// Gannet's log-peak-16 measured 240k msg/s against 300k at 800, JetStream
// 80k at either. Its live heap is a few MiB, so the cost is some tens of
// MiB of memory.
const GeneratorGCPercent = 800

// Protocols returns the names accepted as Config.Protocol, in the order the
// command's help shows them.
func Protocols() []string { return []string{"amqp", "kafka", "redis", "sqs", "nats"} }

// AMQPClients lists the AMQP clients a run can use, the default first.
func AMQPClients() []string { return []string{"lean", "amqp091"} }

// Config describes one run of one workload against one address.
type Config struct {
	Protocol string `json:"protocol"`
	Addr     string `json:"addr"`

	Size       int `json:"size"`       // payload bytes per message
	Producers  int `json:"producers"`  // concurrent publishing connections
	Consumers  int `json:"consumers"`  // consumers per group; 0 means produce only
	InFlight   int `json:"inflight"`   // unconfirmed messages allowed per producer
	Prefetch   int `json:"prefetch"`   // messages a consumer may hold unacked
	AckEvery   int `json:"ack_every"`  // AMQP: deliveries per basic.ack (multiple=true when > 1)
	Partitions int `json:"partitions"` // Kafka partitions per topic
	Queues     int `json:"queues"`     // queues, topics or streams spread over
	Groups     int `json:"groups"`     // independent consumer groups (fan-out)

	// CoalesceWrites makes AMQP connections send what the client wrote
	// while its previous write was in flight in one syscall (coalescingConn).
	CoalesceWrites bool `json:"coalesce_writes"`
	// AMQPClient is the client AMQP producers and consumers use: "lean"
	// (amqpclient, the default) or "amqp091" (amqp091-go).
	AMQPClient string `json:"amqp_client,omitempty"`

	Duration time.Duration `json:"duration_ns"` // how long producers publish, if Count is 0
	Count    int64         `json:"count"`       // total messages to publish, if non-zero
	Rate     float64       `json:"rate"`        // total msg/s across producers; 0 is as fast as possible

	// Backlog publishes everything first and only then starts the
	// consumers, so the broker holds the whole run as a backlog.
	Backlog bool `json:"backlog"`
	// DrainTimeout bounds the wait for consumers after producers finish.
	DrainTimeout time.Duration `json:"drain_timeout_ns"`

	Acks string `json:"acks"` // Kafka: all, leader or none

	BrokerPID      int           `json:"broker_pid"`         // 0 when unknown: no broker CPU or RSS
	SampleInterval time.Duration `json:"sample_interval_ns"` // RSS sampling period

	// Prefix names every queue, topic, stream and group the run creates, so
	// runs never read each other's leftovers.
	Prefix string `json:"prefix"`
}

// DefaultConfig returns the settings of the headline comparison: 1 KiB
// messages, one producer with 256 in flight, one consumer with prefetch 200.
func DefaultConfig() Config {
	return Config{
		Size: 1024, Producers: 1, Consumers: 1, InFlight: 256, Prefetch: 200, AckEvery: 1, CoalesceWrites: true, AMQPClient: AMQPClients()[0],
		Partitions: 1, Queues: 1, Groups: 1, Duration: 10 * time.Second,
		DrainTimeout: 30 * time.Second, Acks: "all", SampleInterval: time.Second,
		Prefix: fmt.Sprintf("bench-%d", time.Now().UnixNano()%1_000_000_000),
	}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	known := false
	for _, p := range Protocols() {
		known = known || p == c.Protocol
	}
	switch {
	case !known:
		return fmt.Errorf("unknown protocol %q: choose one of %v", c.Protocol, Protocols())
	case c.Addr == "":
		return errors.New("--addr is required (host:port of the broker)")
	case c.Size < c.minSize():
		return fmt.Errorf("--size %d is too small: a %s payload carries a %d-byte header", c.Size, c.Protocol, c.minSize())
	case c.Producers < 1:
		return errors.New("--producers must be at least 1")
	case c.Consumers < 0:
		return errors.New("--consumers must not be negative")
	case c.InFlight < 1:
		return errors.New("--inflight must be at least 1 (1 is a synchronous publisher)")
	case c.Prefetch < 1:
		return errors.New("--prefetch must be at least 1")
	case c.AckEvery < 1 || c.AckEvery > c.Prefetch:
		return errors.New("--ack-every must be between 1 and --prefetch")
	case c.Partitions < 1 || c.Queues < 1 || c.Groups < 1:
		return errors.New("--partitions, --queues and --groups must be at least 1")
	case c.Count < 0 || c.Rate < 0:
		return errors.New("--count and --rate must not be negative")
	case c.Count == 0 && c.Duration <= 0:
		return errors.New("give --duration or --count")
	case c.Backlog && c.Count == 0:
		return errors.New("--backlog needs --count: the backlog is built in full before it is drained")
	case c.Acks != "all" && c.Acks != "leader" && c.Acks != "none":
		return fmt.Errorf("--acks %q: choose all, leader or none", c.Acks)
	case c.Prefix == "":
		return errors.New("--prefix must not be empty")
	case c.Protocol == "amqp" && !slices.Contains(AMQPClients(), c.AMQPClient):
		return fmt.Errorf("--amqp-client %q: choose one of %v", c.AMQPClient, AMQPClients())
	}
	return nil
}

func (c Config) minSize() int {
	if c.Protocol == "sqs" {
		return textHeaderSize
	}
	return binaryHeaderSize
}

// queueName is the name of queue (topic, stream) i of this run.
func (c Config) queueName(i int) string { return fmt.Sprintf("%s-q%d", c.Prefix, i) }

// queueNames lists the name of every queue of this run, so that paths taken
// per message index a slice instead of formatting a name.
func (c Config) queueNames() []string {
	out := make([]string, c.Queues)
	for q := range out {
		out[q] = c.queueName(q)
	}
	return out
}

// groupName is the name of consumer group g of this run.
func (c Config) groupName(g int) string { return fmt.Sprintf("%s-g%d", c.Prefix, g) }

// perProducerCount splits Count over the producers; the first ones take the
// remainder so the total is exact.
func (c Config) perProducerCount(producer int) int64 {
	if c.Count == 0 {
		return 0
	}
	n := c.Count / int64(c.Producers)
	if int64(producer) < c.Count%int64(c.Producers) {
		n++
	}
	return n
}
