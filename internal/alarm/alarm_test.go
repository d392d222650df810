package alarm

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gannet-mq/gannet/internal/clock"
)

// fakeResources is what a test's monitor measures.
type fakeResources struct {
	used    atomic.Uint64
	free    atomic.Uint64
	diskErr atomic.Bool
}

func newFake() *fakeResources {
	f := &fakeResources{}
	f.used.Store(100)
	f.free.Store(1 << 40)
	return f
}

func (f *fakeResources) config() Config {
	return Config{
		MemoryUsed: f.used.Load,
		DiskFree: func() (uint64, error) {
			if f.diskErr.Load() {
				return 0, errors.New("statfs failed")
			}
			return f.free.Load(), nil
		},
		MemoryLimit:   1000,
		DiskFreeLimit: 5000,
	}
}

func TestThresholdsForBothResources(t *testing.T) {
	f := newFake()
	m, err := New(f.config())
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name       string
		used, free uint64
		want       Resource
	}{
		{"both fine", 100, 1 << 40, 0},
		{"memory at the limit is not above it", 1000, 1 << 40, 0},
		{"memory above the limit", 1001, 1 << 40, Memory},
		{"disk too, at the limit is not below it", 1001, 5000, Memory},
		{"disk below the limit", 1001, 4999, Memory | Disk},
		{"memory clears, disk stays", 10, 4999, Disk},
		{"disk clears", 10, 6000, 0},
	}
	for _, s := range steps {
		f.used.Store(s.used)
		f.free.Store(s.free)
		if got := m.Check(); got != s.want {
			t.Fatalf("%s: Check = %v, want %v", s.name, got, s.want)
		}
		if got := m.Raised(); got != s.want {
			t.Fatalf("%s: Raised = %v, want %v", s.name, got, s.want)
		}
	}
}

func TestDiskErrorKeepsState(t *testing.T) {
	f := newFake()
	m, err := New(f.config())
	if err != nil {
		t.Fatal(err)
	}
	f.free.Store(1)
	m.Check()
	f.diskErr.Store(true)
	if got := m.Check(); got != Disk {
		t.Fatalf("a failed statfs changed the alarm: %v", got)
	}
	f.diskErr.Store(false)
	f.free.Store(1 << 40)
	if got := m.Check(); got != 0 {
		t.Fatalf("after recovery: %v", got)
	}
}

func TestWatchAndWait(t *testing.T) {
	f := newFake()
	m, err := New(f.config())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Wait(context.Background()); err != nil {
		t.Fatalf("Wait with no alarm: %v", err)
	}
	raised, changed := m.Watch()
	f.used.Store(5000)
	m.Check()
	select {
	case <-changed:
	default:
		t.Fatal("raising an alarm did not close the Watch channel")
	}
	if raised != 0 {
		t.Fatalf("Watch before raising reported %v", raised)
	}
	// A Check that changes nothing does not wake watchers.
	raised, changed = m.Watch()
	m.Check()
	select {
	case <-changed:
		t.Fatal("an unchanged Check closed the Watch channel")
	default:
	}
	if raised != Memory {
		t.Fatalf("Watch = %v", raised)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with the alarm raised and ctx done = %v", err)
	}

	waited := make(chan error, 1)
	go func() { waited <- m.Wait(context.Background()) }()
	select {
	case err := <-waited:
		t.Fatalf("Wait returned %v while the alarm is raised", err)
	case <-time.After(20 * time.Millisecond):
	}
	f.used.Store(1)
	m.Check()
	if err := <-waited; err != nil {
		t.Fatalf("Wait after clearing: %v", err)
	}
}

// TestWaitersWakeWhileChecksRace: waiters that watch while Checks raise and
// clear the alarm from another goroutine all return once it stays clear; a
// watcher never holds a channel that no Check will close.
func TestWaitersWakeWhileChecksRace(t *testing.T) {
	f := newFake()
	m, err := New(f.config())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 50 {
		f.used.Store(5000)
		m.Check()
		waited := make(chan error, 8)
		for range cap(waited) {
			go func() { waited <- m.Wait(ctx) }()
		}
		for i := range 20 { // raise and clear under the waiters' feet
			f.used.Store(uint64(5000 * (i % 2)))
			m.Check()
		}
		f.used.Store(1)
		m.Check()
		for range cap(waited) {
			if err := <-waited; err != nil {
				t.Fatalf("a waiter missed the clear: %v", err)
			}
		}
	}
}

func TestNilMonitorNeverRaises(t *testing.T) {
	var m *Monitor
	if m.Raised() != 0 {
		t.Fatal("nil monitor raised")
	}
	if err := m.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r, ch := m.Watch(); r != 0 || ch != nil {
		t.Fatal("nil monitor Watch")
	}
}

func TestStartChecksOnTheClock(t *testing.T) {
	f := newFake()
	clk := clock.NewFake(time.Unix(0, 0))
	cfg := f.config()
	cfg.Clock = clk
	cfg.CheckInterval = time.Second
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.free.Store(1)
	m.Start()
	if m.Raised() != Disk {
		t.Fatal("Start did not check at once")
	}
	f.free.Store(1 << 40)
	clk.Advance(999 * time.Millisecond)
	if m.Raised() != Disk {
		t.Fatal("checked before the interval")
	}
	clk.Advance(time.Millisecond)
	if m.Raised() != 0 {
		t.Fatal("no check after the interval")
	}
	m.Stop()
	f.free.Store(1)
	clk.Advance(time.Hour)
	if m.Raised() != 0 || clk.Pending() != 0 {
		t.Fatalf("checks continued after Stop: raised %v, pending %d", m.Raised(), clk.Pending())
	}
	// A stopped monitor starts again, checking at once and then on time.
	m.Start()
	m.Start()
	if m.Raised() != Disk || clk.Pending() != 1 {
		t.Fatalf("restart: raised %v, pending %d", m.Raised(), clk.Pending())
	}
	f.free.Store(1 << 40)
	clk.Advance(time.Second)
	if m.Raised() != 0 {
		t.Fatal("no check on time after a restart")
	}
	m.Stop()
}

func TestGaugeFollowsAlarms(t *testing.T) {
	f := newFake()
	reg := prometheus.NewRegistry()
	cfg := f.config()
	cfg.Registerer = reg
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	expect := func(memory, disk int) {
		t.Helper()
		want := "# HELP gannet_resource_alarm 1 while a resource alarm is raised (memory above its limit, or free disk below its limit) and writes that add data are held or refused.\n" +
			"# TYPE gannet_resource_alarm gauge\n" +
			"gannet_resource_alarm{resource=\"disk\"} " + string(rune('0'+disk)) + "\n" +
			"gannet_resource_alarm{resource=\"memory\"} " + string(rune('0'+memory)) + "\n"
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "gannet_resource_alarm"); err != nil {
			t.Fatal(err)
		}
	}
	expect(0, 0)
	f.used.Store(2000)
	m.Check()
	expect(1, 0)
	f.free.Store(0)
	m.Check()
	expect(1, 1)
	f.used.Store(0)
	m.Check()
	expect(0, 1)
}

func TestDefaultMemoryLimitIsAFractionOfAvailableMemory(t *testing.T) {
	f := newFake()
	cfg := f.config()
	cfg.MemoryLimit = 0
	cfg.MemoryHighWatermark = 0.5
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	total, _ := availableMemory(defaultMemorySources)
	memory, disk := m.Limits()
	if memory != uint64(0.5*float64(total)) || disk != 5000 {
		t.Fatalf("Limits = %d, %d; available memory %d", memory, disk, total)
	}
	if _, err := New(Config{DiskFree: cfg.DiskFree, MemoryHighWatermark: 1.5}); err == nil {
		t.Fatal("a watermark above 1 was accepted")
	}
	if _, err := New(Config{}); err == nil {
		t.Fatal("a monitor with nothing to measure the disk with was built")
	}
}

func TestDefaultsMeasureThisProcess(t *testing.T) {
	if used := GoMemoryUsed(); used < 1<<20 {
		t.Fatalf("GoMemoryUsed = %d, less than a MiB", used)
	}
	free, err := StatfsFree(t.TempDir())()
	if err != nil || free == 0 {
		t.Fatalf("StatfsFree = %d, %v", free, err)
	}
	if _, err := StatfsFree(t.TempDir() + "/missing")(); err == nil {
		t.Fatal("statfs of a missing directory succeeded")
	}
}

func TestResourceString(t *testing.T) {
	for r, want := range map[Resource]string{0: "none", Memory: "memory", Disk: "disk", Memory | Disk: "memory & disk"} {
		if r.String() != want {
			t.Errorf("%d.String() = %q, want %q", r, r.String(), want)
		}
	}
}

func TestFakeSetsExactlyWhatItIsTold(t *testing.T) {
	f := NewFake()
	for _, r := range []Resource{0, Memory, Memory | Disk, Disk, 0} {
		if got := f.Set(r); got != r || f.Raised() != r {
			t.Fatalf("Set(%v) = %v, Raised %v", r, got, f.Raised())
		}
	}
}

// Stop returns only once a check under way has finished, so nothing the
// monitor does (raising or clearing an alarm) happens after Stop.
func TestStopWaitsForACheckUnderWay(t *testing.T) {
	f := newFake()
	clk := clock.NewFake(time.Unix(0, 0))
	cfg := f.config()
	cfg.Clock = clk
	measuring := make(chan struct{})
	finish := make(chan struct{})
	var finishOnce sync.Once
	release := func() { finishOnce.Do(func() { close(finish) }) }
	t.Cleanup(release) // a failed test does not leave the check hanging
	var calls atomic.Int32
	cfg.DiskFree = func() (uint64, error) {
		if calls.Add(1) == 2 { // Start's check is quick, the first tick's is slow
			close(measuring)
			<-finish
			return 1, nil // low: the check raises the disk alarm
		}
		return 1 << 40, nil
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	ticked := make(chan struct{})
	go func() {
		clk.Advance(DefaultCheckInterval)
		close(ticked)
	}()
	<-measuring
	stopped := make(chan struct{})
	go func() {
		m.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a check was under way")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	<-stopped
	raised, changed := m.Watch()
	if raised != Disk {
		t.Fatalf("raised %v after the check Stop waited for, want disk", raised)
	}
	<-ticked
	clk.Advance(time.Hour)
	select {
	case <-changed:
		t.Fatal("the alarms changed after Stop returned")
	default:
	}
	if n := calls.Load(); n != 2 || clk.Pending() != 0 {
		t.Fatalf("after Stop: %d measurements, %d checks scheduled", n, clk.Pending())
	}
}
