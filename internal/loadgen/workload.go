package loadgen

import (
	"context"
	"errors"
	"fmt"
)

// A workload speaks one protocol to one broker address.
type workload interface {
	// setup creates the queues, topics, streams and groups the run uses.
	setup(ctx context.Context) error
	// newProducer opens one publishing connection.
	newProducer(ctx context.Context, id int) (producer, error)
	// newConsumer opens member number member of consumer group group.
	newConsumer(ctx context.Context, group, member int) (consumer, error)
	// probe succeeds once the broker serves the protocol: used to time restarts.
	probe(ctx context.Context) error
	// close releases what setup opened; it does not delete broker state.
	close() error
}

// A producer publishes payloads with an in-flight window kept by the run.
type producer interface {
	// send publishes payload to queue number queue and returns; the producer
	// may hold it in a batch or pipeline until the batch fills or flush runs.
	// done is called exactly once, from any goroutine, when the broker has
	// confirmed (nil) or refused the message; the payload is not used after.
	send(ctx context.Context, queue int, payload []byte, done func(error)) error
	// flush sends whatever send is holding back.
	flush(ctx context.Context) error
	close() error
}

// A consumer receives until its context ends, handing every payload to the
// recorder before it acknowledges the message.
type consumer interface {
	run(ctx context.Context, rec *Recorder) error
	close() error
}

// newWorkload picks the implementation for cfg.Protocol.
func newWorkload(cfg Config) (workload, error) {
	switch cfg.Protocol {
	case "amqp":
		return newAMQPWorkload(cfg), nil
	case "kafka":
		return newKafkaWorkload(cfg), nil
	case "redis":
		return newRedisWorkload(cfg), nil
	case "sqs":
		return newSQSWorkload(cfg), nil
	case "nats":
		return newNATSWorkload(cfg), nil
	}
	return nil, fmt.Errorf("no workload for protocol %q", cfg.Protocol)
}

// queuesOf returns the queues consumer member of members reads: queues are
// dealt round-robin, and when consumers outnumber queues they share them.
func queuesOf(member, members, queues int) []int {
	if members >= queues {
		return []int{member % queues}
	}
	var out []int
	for q := member; q < queues; q += members {
		out = append(out, q)
	}
	return out
}

// queueFor spreads a producer's messages round-robin over the queues,
// starting at a different queue per producer.
func queueFor(producer int, seq int64, queues int) int {
	return int((int64(producer) + seq) % int64(queues))
}

// A source delivers one queue's messages to emit until ctx ends or emit
// reports false (the consumer has stopped), then returns.
type source[T any] func(ctx context.Context, emit func(T) bool) error

// consumeSources hands every item of every source to handle, always on the
// calling goroutine: a consumer's Recorder belongs to one goroutine. A single
// source runs inline; several run on goroutines of their own and meet in a
// channel of the given buffer. It returns when ctx ends or every source has
// returned, or with the first error of a source or of handle.
func consumeSources[T any](ctx context.Context, buffer int, sources []source[T], handle func(T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if len(sources) == 1 {
		var handleErr error
		err := sources[0](ctx, func(v T) bool {
			handleErr = handle(v)
			return handleErr == nil && ctx.Err() == nil
		})
		return errors.Join(err, handleErr)
	}
	items := make(chan T, buffer)
	ended := make(chan error, len(sources))
	emit := func(v T) bool {
		select {
		case items <- v:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for _, src := range sources {
		go func() { ended <- src(ctx, emit) }()
	}
	for running := len(sources); running > 0; {
		select {
		case v := <-items:
			if err := handle(v); err != nil {
				return err
			}
		case err := <-ended:
			if err != nil {
				return err
			}
			running--
		case <-ctx.Done():
			return nil
		}
	}
	// Every source has returned: hand on what they left in the channel.
	for {
		select {
		case v := <-items:
			if err := handle(v); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}
