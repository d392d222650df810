// Package loadgen is Gannet's load generator: one workload per wire protocol
// (AMQP 0-9-1, Kafka, Redis Streams, SQS and NATS JetStream as a log peer),
// each able to target any address, so the same workload runs against Gannet
// and against the system it imitates.
//
// A run starts consumers, then producers that publish either as fast as the
// in-flight window allows or at a fixed rate, and measures:
//   - latency from the intended send time (embedded in each payload) to
//     consumption, in an HDR histogram kept per consumer and merged at the end;
//   - throughput in messages and bytes per second;
//   - counts of produced, confirmed, consumed, unique and duplicate messages;
//   - CPU used per message by the broker process (from /proc/<pid>/stat) and by
//     the generator itself, and the broker's resident memory over time.
//
// Nothing in the generator busy-waits: pacing sleeps on timers and every wait
// blocks on a channel, because on a two-core machine a spinning client steals
// the CPU the broker under test needs.
//
// The package also renders a directory of JSON results into the markdown and
// SVG charts of docs/benchmarks.md (see Report).
package loadgen
