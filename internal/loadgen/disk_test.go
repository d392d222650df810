package loadgen

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestMeasureDiskWritesSyncsAndRemoves(t *testing.T) {
	dir := t.TempDir()
	res, err := MeasureDisk(context.Background(), DiskConfig{Dir: dir, Size: 1<<20 + 1000, Block: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Blocks != 17 || res.Bytes != 1<<20+1000 { // 16 full blocks and a short one
		t.Errorf("wrote %d blocks, %d bytes; want 17 blocks, %d bytes", res.Blocks, res.Bytes, 1<<20+1000)
	}
	if res.MBPerSec <= 0 || res.Seconds <= 0 {
		t.Errorf("no bandwidth: %+v", res)
	}
	if res.SyncP50us > res.SyncP99us || res.SyncP99us > res.SyncMaxUs {
		t.Errorf("fdatasync quantiles out of order: p50 %d p99 %d max %d", res.SyncP50us, res.SyncP99us, res.SyncMaxUs)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("the test file was left behind: %v %v", entries, err)
	}
	if s := res.Summary(); s == "" {
		t.Error("empty summary")
	}

	if _, err := MeasureDisk(context.Background(), DiskConfig{Dir: dir, Size: 1 << 20}); err == nil {
		t.Error("a zero block size was accepted")
	}
	if _, err := MeasureDisk(context.Background(), DiskConfig{Dir: dir + "/missing", Size: 1 << 20, Block: 1 << 20}); err == nil {
		t.Error("a missing directory was accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := MeasureDisk(ctx, DiskConfig{Dir: dir, Size: 1 << 20, Block: 1 << 10}); err == nil {
		t.Error("a cancelled measurement succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed measurement left %d file(s) behind", len(entries))
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{
		"4096": 4096, "64KiB": 64 << 10, "1MiB": 1 << 20, "256MiB": 256 << 20, "2GiB": 2 << 30,
		"10MB": 10e6, "1GB": 1e9, "1M": 1 << 20, "512B": 512, " 8 kib ": 8 << 10,
	} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1MiB", "1.5MiB", "12XB", "99999999999GiB"} {
		if _, err := ParseBytes(bad); err == nil {
			t.Errorf("ParseBytes(%q) accepted", bad)
		}
	}
	for _, n := range []int64{512, 64 << 10, 256 << 20, 3 << 30} {
		if got, _ := ParseBytes(FormatBytes(n)); got != n {
			t.Errorf("FormatBytes(%d) = %q does not parse back", n, FormatBytes(n))
		}
	}
}

func TestQuantileNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	if quantile(d, 0.5) != 50 || quantile(d, 0.99) != 99 || quantile(d[:1], 0.99) != 1 || quantile(nil, 0.5) != 0 {
		t.Errorf("quantiles: p50 %d p99 %d", quantile(d, 0.5), quantile(d, 0.99))
	}
}
