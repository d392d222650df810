package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// DiskConfig describes one measurement of a disk's sequential fdatasync
// bandwidth: Size bytes appended to a new file in Dir, Block bytes per
// write, each write followed by fdatasync.
type DiskConfig struct {
	Dir   string `json:"dir"`
	Size  int64  `json:"size_bytes"`
	Block int64  `json:"block_bytes"`
}

// DiskResult is what MeasureDisk found. MBPerSec is in 10^6 bytes per
// second, like the MB/s columns of the report, and counts the writes and the
// fdatasyncs together.
type DiskResult struct {
	Config    DiskConfig `json:"config"`
	StartedAt time.Time  `json:"started_at"`
	Blocks    int        `json:"blocks"`
	Bytes     int64      `json:"bytes"`
	Seconds   float64    `json:"seconds"`
	MBPerSec  float64    `json:"mb_per_sec"`
	// Per-block fdatasync latency (the fdatasync call alone).
	SyncP50us int64 `json:"fdatasync_p50_us"`
	SyncP99us int64 `json:"fdatasync_p99_us"`
	SyncMaxUs int64 `json:"fdatasync_max_us"`
}

// Summary is the one line the command prints.
func (r DiskResult) Summary() string {
	return fmt.Sprintf("disk %s: %.1f MB/s sequential with fdatasync every %s (%d blocks, %s in %.2f s) | fdatasync p50 %s p99 %s max %s",
		r.Config.Dir, r.MBPerSec, FormatBytes(r.Config.Block), r.Blocks, FormatBytes(r.Bytes), r.Seconds,
		micros(r.SyncP50us), micros(r.SyncP99us), micros(r.SyncMaxUs))
}

// WriteJSON stores r at path.
func (r DiskResult) WriteJSON(path string) error { return writeJSON(path, r) }

// MeasureDisk appends cfg.Size bytes to a new file in cfg.Dir in writes of
// cfg.Block bytes, calling fdatasync after every write, and removes the file
// again. The data is pseudo-random so that a compressing or deduplicating
// filesystem still has to write it.
func MeasureDisk(ctx context.Context, cfg DiskConfig) (DiskResult, error) {
	if cfg.Dir == "" {
		cfg.Dir = "."
	}
	if cfg.Block <= 0 || cfg.Size <= 0 {
		return DiskResult{Config: cfg}, fmt.Errorf("disk: size (%d) and block (%d) must be positive", cfg.Size, cfg.Block)
	}
	if cfg.Block > 1<<30 {
		return DiskResult{Config: cfg}, fmt.Errorf("disk: block %s is over 1 GiB", FormatBytes(cfg.Block))
	}
	res := DiskResult{Config: cfg, StartedAt: time.Now()}
	f, err := os.CreateTemp(cfg.Dir, ".gannet-bench-disk-*")
	if err != nil {
		return res, fmt.Errorf("disk: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	if abs, err := filepath.Abs(cfg.Dir); err == nil {
		res.Config.Dir = abs
	}

	block := make([]byte, cfg.Block)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x9e3779b97f4a7c15))
	for i := 0; i+8 <= len(block); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			block[i+j] = byte(v >> (8 * j))
		}
	}

	syncs := make([]time.Duration, 0, (cfg.Size+cfg.Block-1)/cfg.Block)
	fd := int(f.Fd())
	start := time.Now()
	for written := int64(0); written < cfg.Size; {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		n := min(cfg.Block, cfg.Size-written)
		// Vary the first bytes per block so no two blocks are identical.
		block[0], block[1] = byte(len(syncs)), byte(len(syncs)>>8)
		if _, err := f.Write(block[:n]); err != nil {
			return res, fmt.Errorf("disk: write: %w", err)
		}
		t := time.Now()
		if err := fdatasync(fd); err != nil {
			return res, fmt.Errorf("disk: fdatasync: %w", err)
		}
		syncs = append(syncs, time.Since(t))
		written += n
	}
	elapsed := time.Since(start)

	res.Blocks = len(syncs)
	res.Bytes = cfg.Size
	res.Seconds = elapsed.Seconds()
	if res.Seconds > 0 {
		res.MBPerSec = float64(res.Bytes) / res.Seconds / 1e6
	}
	slices.Sort(syncs)
	res.SyncP50us = quantile(syncs, 0.50).Microseconds()
	res.SyncP99us = quantile(syncs, 0.99).Microseconds()
	res.SyncMaxUs = syncs[len(syncs)-1].Microseconds()
	return res, nil
}

func fdatasync(fd int) error {
	for {
		err := unix.Fdatasync(fd)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// quantile returns the q-th quantile of sorted by the nearest-rank method.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted)) + 0.999999999) // ceil without float noise
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// ParseBytes reads a size such as 4096, 64KiB, 1MiB, 256MiB, 2GiB (powers of
// 1024) or 10MB, 1GB (powers of 1000); K, M and G alone are binary.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
	}
	mult := int64(1)
	for _, u := range units {
		if len(t) > len(u.suffix) && strings.EqualFold(t[len(t)-len(u.suffix):], u.suffix) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || (n > 0 && mult > (1<<62)/n) {
		return 0, fmt.Errorf("bad byte size %q (want e.g. 4096, 64KiB, 256MiB, 1GB)", s)
	}
	return n * mult, nil
}

// FormatBytes is the inverse of ParseBytes for the binary units.
func FormatBytes(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return fmt.Sprintf("%d%s", n/u.mult, u.suffix)
		}
	}
	return fmt.Sprintf("%dB", n)
}

// ByteSize is a flag.Value for sizes written as ParseBytes reads them.
type ByteSize int64

func (b *ByteSize) String() string { return FormatBytes(int64(*b)) }

// Set parses s with ParseBytes.
func (b *ByteSize) Set(s string) error {
	n, err := ParseBytes(s)
	if err != nil {
		return err
	}
	*b = ByteSize(n)
	return nil
}
