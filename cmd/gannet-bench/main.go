// Command gannet-bench is Gannet's load generator and benchmark report
// renderer. It runs one workload per protocol against any address, so the
// same workload measures Gannet and the system it imitates:
//
//	gannet-bench amqp  --addr 127.0.0.1:5672 --duration 10s --inflight 256
//	gannet-bench redis --addr 127.0.0.1:6379 --rate 5000 --json out.json
//	gannet-bench await redis --addr 127.0.0.1:6379 --since-unix-nano N
//	gannet-bench unavailable --json out.json --workload w --system s --protocol p --reason why
//	gannet-bench disk --dir /var/lib/gannet --size 256MiB --block 1MiB --json disk.json
//	gannet-bench report --in results/ --out docs/benchmarks.md
//
// scripts/bench/compare.sh drives it for the side-by-side comparison.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gannet-mq/gannet/internal/loadgen"
)

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(loadgen.GeneratorGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gannet-bench:", err)
		os.Exit(1)
	}
}

func usage() error {
	return fmt.Errorf("usage: gannet-bench <%s|await PROTOCOL|unavailable|disk|report> [flags]; add -h after the subcommand for its flags",
		strings.Join(loadgen.Protocols(), "|"))
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usage()
	}
	switch cmd := args[0]; {
	case cmd == "report":
		return runReport(args[1:])
	case cmd == "disk":
		return runDisk(ctx, args[1:])
	case cmd == "unavailable":
		return runUnavailable(args[1:])
	case cmd == "await":
		if len(args) < 2 {
			return usage()
		}
		return runAwait(ctx, args[1], args[2:])
	case slices.Contains(loadgen.Protocols(), cmd):
		return runWorkload(ctx, cmd, args[1:])
	}
	return usage()
}

// workloadFlags binds the flags shared by a run and an await.
type workloadFlags struct {
	cfg      loadgen.Config
	meta     loadgen.Meta
	jsonPath string
}

func newWorkloadFlags(fs *flag.FlagSet, protocol string) *workloadFlags {
	f := &workloadFlags{cfg: loadgen.DefaultConfig()}
	c := &f.cfg
	c.Protocol = protocol
	fs.StringVar(&c.Addr, "addr", "", "broker host:port (required)")
	fs.IntVar(&c.Size, "size", c.Size, "payload bytes per message")
	fs.IntVar(&c.Producers, "producers", c.Producers, "concurrent producers")
	fs.IntVar(&c.Consumers, "consumers", c.Consumers, "consumers per group (0: produce only)")
	fs.IntVar(&c.InFlight, "inflight", c.InFlight, "unconfirmed messages per producer (1: synchronous)")
	fs.IntVar(&c.Prefetch, "prefetch", c.Prefetch, "unacked messages a consumer may hold")
	fs.IntVar(&c.AckEvery, "ack-every", c.AckEvery, "AMQP: deliveries acknowledged per basic.ack (1: one ack each, as RabbitMQ PerfTest does)")
	fs.StringVar(&c.AMQPClient, "amqp-client", c.AMQPClient, fmt.Sprintf("AMQP: the client producers and consumers use, one of %v (lean: the load generator's own, which leaves the CPU to the broker)", loadgen.AMQPClients()))
	fs.BoolVar(&c.CoalesceWrites, "coalesce-writes", c.CoalesceWrites, "AMQP: send what the client writes while a send is under way in one syscall")
	fs.IntVar(&c.Partitions, "partitions", c.Partitions, "Kafka partitions per topic")
	fs.IntVar(&c.Queues, "queues", c.Queues, "queues (topics, streams) to spread messages over")
	fs.IntVar(&c.Groups, "groups", c.Groups, "consumer groups, each receiving every message")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "how long to publish (ignored with --count)")
	fs.Int64Var(&c.Count, "count", c.Count, "messages to publish in total (0: use --duration)")
	fs.Float64Var(&c.Rate, "rate", c.Rate, "total publish rate in msg/s (0: as fast as the window allows)")
	fs.BoolVar(&c.Backlog, "backlog", c.Backlog, "publish all of --count before consumers start")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", c.DrainTimeout, "how long to wait for consumers after publishing")
	fs.StringVar(&c.Acks, "acks", c.Acks, "Kafka acks: all, leader or none")
	fs.IntVar(&c.BrokerPID, "broker-pid", 0, "pid of the broker process, for its CPU and memory")
	fs.DurationVar(&c.SampleInterval, "sample-interval", c.SampleInterval, "broker memory sampling period")
	fs.StringVar(&c.Prefix, "prefix", c.Prefix, "prefix of every queue, topic, stream and group name")
	fs.StringVar(&f.meta.Workload, "workload", protocol, "scenario name recorded in the result")
	fs.StringVar(&f.meta.System, "system", "", "system under test recorded in the result, e.g. gannet or rabbitmq")
	fs.StringVar(&f.jsonPath, "json", "", "write the result as JSON to this file")
	return f
}

func runWorkload(ctx context.Context, protocol string, args []string) error {
	fs := flag.NewFlagSet(protocol, flag.ContinueOnError)
	f := newWorkloadFlags(fs, protocol)
	if err := fs.Parse(args); err != nil {
		return err
	}
	res, err := loadgen.Run(ctx, f.cfg, f.meta)
	return finish(res, err, f.jsonPath)
}

func runAwait(ctx context.Context, protocol string, args []string) error {
	fs := flag.NewFlagSet("await", flag.ContinueOnError)
	f := newWorkloadFlags(fs, protocol)
	since := fs.Int64("since-unix-nano", 0, "when the broker was started (default: now)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	if *since > 0 {
		start = time.Unix(0, *since)
	}
	res, err := loadgen.Await(ctx, f.cfg, f.meta, start, *timeout)
	return finish(res, err, f.jsonPath)
}

// finish prints the summary and stores the result, also when the run
// failed, so the comparison records the failure in its row.
func finish(res loadgen.Result, runErr error, jsonPath string) error {
	fmt.Println(res.Summary())
	if jsonPath != "" {
		if err := res.WriteJSON(jsonPath); err != nil {
			return errors.Join(runErr, err)
		}
	}
	return runErr
}

func runUnavailable(args []string) error {
	fs := flag.NewFlagSet("unavailable", flag.ContinueOnError)
	jsonPath := fs.String("json", "", "result file to write (required)")
	var res loadgen.Result
	fs.StringVar(&res.Workload, "workload", "", "scenario name")
	fs.StringVar(&res.System, "system", "", "system that could not be measured")
	fs.StringVar(&res.Config.Protocol, "protocol", "", "protocol of the workload")
	fs.StringVar(&res.Config.Addr, "addr", "", "address that was tried")
	fs.StringVar(&res.Error, "reason", "not available yet", "why there is no measurement")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *jsonPath == "" || res.Workload == "" || res.System == "" {
		return errors.New("unavailable needs --json, --workload and --system")
	}
	res.Status = loadgen.StatusUnavailable
	res.StartedAt = time.Now()
	return finish(res, nil, *jsonPath)
}

// runDisk measures the sequential fdatasync bandwidth of the disk under
// --dir: the ceiling for a broker that syncs every batch it acknowledges.
func runDisk(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("disk", flag.ContinueOnError)
	var cfg loadgen.DiskConfig
	size, block := loadgen.ByteSize(256<<20), loadgen.ByteSize(1<<20)
	fs.StringVar(&cfg.Dir, "dir", ".", "directory on the filesystem to measure (a temporary file is created and removed there)")
	fs.Var(&size, "size", "bytes to write in total, e.g. 256MiB")
	fs.Var(&block, "block", "bytes per write; fdatasync follows every write")
	jsonPath := fs.String("json", "", "write the result as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("disk: unexpected arguments %q", fs.Args())
	}
	cfg.Size, cfg.Block = int64(size), int64(block)
	res, err := loadgen.MeasureDisk(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Println(res.Summary())
	if *jsonPath != "" {
		return res.WriteJSON(*jsonPath)
	}
	return nil
}

func runReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	in := fs.String("in", "", "directory of result JSON files (required)")
	out := fs.String("out", "docs/benchmarks.md", "markdown file to write")
	charts := fs.String("charts", "", "directory for SVG charts (default: bench/ beside --out)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		return errors.New("report needs --in")
	}
	return loadgen.WriteReport(*in, *out, *charts)
}
