// Command gannet is the Gannet message broker: one binary speaking AMQP
// 0-9-1, Kafka, Redis Streams and SQS over one storage engine.
//
//	gannet serve [flags]   run the broker (gannet serve -h lists the flags)
//	gannet version         print the version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/gannet-mq/gannet/internal/config"
	"github.com/gannet-mq/gannet/internal/server"
)

// version is set at release time with -ldflags "-X main.version=v1.2.3";
// without it the module version or VCS revision from the build info is used.
var version string

const usage = `Usage: gannet <command> [flags]

Commands:
  serve     run the broker (gannet serve -h lists its flags)
  version   print the version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code (0 ok, 1 the
// server failed, 2 bad usage or configuration).
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], lookupEnv, stderr)
	case "version":
		fmt.Fprintln(stdout, "gannet", versionString())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "gannet: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func serve(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stderr io.Writer) int {
	cfg, err := config.Load(args, lookupEnv, stderr)
	if config.IsHelp(err) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "gannet:", err)
		return 2
	}
	logger := cfg.NewLogger(stderr)
	srv, err := server.New(cfg, logger) // validates cfg
	if err != nil {
		fmt.Fprintln(stderr, "gannet: invalid configuration:\n"+err.Error())
		return 2
	}
	if err := srv.Run(ctx); err != nil {
		logger.Error("gannet stopped with an error", "error", err)
		return 1
	}
	logger.Info("gannet stopped")
	return 0
}

func versionString() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	for _, setting := range info.Settings {
		if setting.Key == "vcs.revision" {
			return "devel " + setting.Value
		}
	}
	return "devel"
}
