package broker

import (
	"log/slog"
	"time"

	"github.com/gannet-mq/gannet/internal/clock"
)

// FsyncPolicy says when appended data is forced to disk.
type FsyncPolicy int

const (
	// FsyncAlways acknowledges an append only after the fsync that covers it
	// (group commit). This is the default and the durability contract.
	FsyncAlways FsyncPolicy = iota
	// FsyncInterval fsyncs on a timer; a crash can lose the last interval.
	FsyncInterval
	// FsyncNever leaves flushing to the operating system.
	FsyncNever
)

// ParseFsyncPolicy reads "always", "interval" or "never".
func ParseFsyncPolicy(s string) (FsyncPolicy, error) {
	switch s {
	case "", "always":
		return FsyncAlways, nil
	case "interval":
		return FsyncInterval, nil
	case "never":
		return FsyncNever, nil
	}
	return 0, &InvalidArgumentError{Argument: "fsync", Reason: "must be always, interval or never, not " + s}
}

func (p FsyncPolicy) String() string {
	switch p {
	case FsyncInterval:
		return "interval"
	case FsyncNever:
		return "never"
	}
	return "always"
}

// Options configures a Broker. The zero value of every field means its default.
type Options struct {
	DataDir         string        // required
	Fsync           FsyncPolicy   // default FsyncAlways
	FsyncInterval   time.Duration // for FsyncInterval; default 1s
	SegmentBytes    int64         // default 64 MiB
	MaxMessageBytes int           // default 1 MiB
	DedupWindow     time.Duration // default 5 minutes
	Clock           clock.Clock   // default the wall clock
	Logger          *slog.Logger  // default discards
	Observer        Observer      // default none
}

// Default sizes and windows.
const (
	DefaultMaxMessageBytes = 1 << 20
	DefaultSegmentBytes    = 64 << 20
	DefaultDedupWindow     = 5 * time.Minute
)

// Observer receives events for metrics. Implementations must be cheap and
// safe for concurrent use; the broker calls them on hot paths.
type Observer interface {
	// Produced counts records appended to a stream.
	Produced(stream string, records, bytes int)
	// Consumed counts records settled (acked) by a group, with the time from
	// append to settlement of each.
	Consumed(stream, group string, latency time.Duration)
	// Redelivered counts records handed out again after a release or expiry.
	Redelivered(stream, group string)
	// DeadLettered counts records moved to a dead-letter target.
	DeadLettered(stream, group, reason string)
	// Synced reports one fsync of a log.
	Synced(d time.Duration, bytes int64, err error)
}

type nopObserver struct{}

func (nopObserver) Produced(string, int, int)              {}
func (nopObserver) Consumed(string, string, time.Duration) {}
func (nopObserver) Redelivered(string, string)             {}
func (nopObserver) DeadLettered(string, string, string)    {}
func (nopObserver) Synced(time.Duration, int64, error)     {}
