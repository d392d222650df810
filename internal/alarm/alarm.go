// Package alarm watches the broker's memory use and the free space of its
// data volume, and raises an alarm when either crosses its limit, as
// RabbitMQ's memory and disk alarms do. It knows no protocol: each
// front-end reads the alarm and reacts the way its own clients expect
// (AMQP connection.blocked, Redis -OOM/-MISCONF, Kafka held produces, SQS
// 503). Only writes that add data are refused or held; reads, acks and
// deletes keep working, since they are how a backlog drains.
//
// A Monitor measures when Check is called: Start calls it once a second on
// the injected clock, and tests call it directly after moving their fake
// measurements, so nothing sleeps. Raised and Watch are one atomic load
// each, cheap enough for every publish; Watch and Wait serve front-ends
// that hold a request until the alarm clears.
package alarm

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gannet-mq/gannet/internal/clock"
)

// Resource is a set of alarmed resources; the zero value means none.
type Resource uint32

const (
	// Memory is raised while the process uses more than its memory limit.
	Memory Resource = 1 << iota
	// Disk is raised while the data volume has less free space than its
	// limit.
	Disk
)

// String names the resources as RabbitMQ's connection.blocked reason does
// after "low on ": "memory", "disk" or "memory & disk".
func (r Resource) String() string {
	switch r {
	case 0:
		return "none"
	case Memory:
		return "memory"
	case Disk:
		return "disk"
	case Memory | Disk:
		return "memory & disk"
	}
	return "unknown"
}

// Has reports whether r includes every resource in x.
func (r Resource) Has(x Resource) bool { return r&x == x && x != 0 }

// Defaults, RabbitMQ's own.
const (
	// DefaultDiskFreeLimit is disk_free_limit: 50 MB.
	DefaultDiskFreeLimit = 50_000_000
	// DefaultMemoryHighWatermark is vm_memory_high_watermark.relative.
	DefaultMemoryHighWatermark = 0.4
	// DefaultCheckInterval is how often Start measures.
	DefaultCheckInterval = time.Second
)

// Config says what to measure and where the limits are. Every field may be
// left zero.
type Config struct {
	// DataDir is the directory whose volume DiskFree measures by default.
	DataDir string
	// DiskFree reports the bytes free on the data volume; nil means statfs
	// of DataDir.
	DiskFree func() (uint64, error)
	// DiskFreeLimit raises the disk alarm while free space is below it;
	// 0 means DefaultDiskFreeLimit.
	DiskFreeLimit uint64
	// MemoryUsed reports the process's memory; nil means GoMemoryUsed.
	MemoryUsed func() uint64
	// MemoryLimit raises the memory alarm while use is above it, in bytes.
	// 0 means MemoryHighWatermark of the machine's memory (or of the
	// process's cgroup limit, v1 or v2, when that is lower).
	MemoryLimit uint64
	// MemoryHighWatermark is the fraction used when MemoryLimit is 0;
	// 0 means DefaultMemoryHighWatermark.
	MemoryHighWatermark float64
	// CheckInterval is the period of Start's checks; 0 means 1 s.
	CheckInterval time.Duration
	// Clock schedules Start's checks; nil means the wall clock.
	Clock clock.Clock
	// Logger takes a warning when an alarm is raised and an info line when
	// it clears; nil discards.
	Logger *slog.Logger
	// Registerer takes the gannet_resource_alarm gauge; nil means none.
	Registerer prometheus.Registerer
}

// Monitor raises and clears the memory and disk alarms. A nil *Monitor
// never raises one, so front-ends built without it need no special case.
type Monitor struct {
	cfg         Config
	memoryLimit uint64 // 0 turns the memory alarm off (machine size unknown)
	log         *slog.Logger
	gauges      map[Resource]prometheus.Gauge

	// state is replaced, never changed, by the Check that changes what is
	// raised, so Raised and Watch are one atomic load on every publish.
	state atomic.Pointer[alarmState]

	checkMu       sync.Mutex // serialises Check, the only writer of state
	diskErrLogged bool       // checkMu: one warning per run of statfs failures

	// runMu is held by each of Start's checks from the moment it finds
	// the monitor running until the next is scheduled, so Stop, which
	// takes it, waits for a check under way.
	runMu   sync.Mutex
	timer   clock.Timer
	running bool
	run     uint64 // counts Starts, so a tick of an earlier run stops
}

// alarmState is what is raised and the channel closed when that changes.
type alarmState struct {
	raised  Resource
	changed chan struct{}
}

// New builds a monitor; it measures nothing until Check or Start.
func New(cfg Config) (*Monitor, error) {
	if cfg.DiskFree == nil {
		if cfg.DataDir == "" {
			return nil, errors.New("alarm: Config needs DataDir or DiskFree")
		}
		cfg.DiskFree = StatfsFree(cfg.DataDir)
	}
	if cfg.DiskFreeLimit == 0 {
		cfg.DiskFreeLimit = DefaultDiskFreeLimit
	}
	if cfg.MemoryUsed == nil {
		cfg.MemoryUsed = GoMemoryUsed
	}
	if cfg.MemoryHighWatermark == 0 {
		cfg.MemoryHighWatermark = DefaultMemoryHighWatermark
	}
	if cfg.MemoryHighWatermark < 0 || cfg.MemoryHighWatermark > 1 {
		return nil, errors.New("alarm: MemoryHighWatermark must be a fraction above 0 and at most 1")
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = DefaultCheckInterval
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Monitor{cfg: cfg, log: cfg.Logger}
	m.state.Store(&alarmState{changed: make(chan struct{})})
	m.memoryLimit = cfg.MemoryLimit
	if m.memoryLimit == 0 {
		total, source := availableMemory(defaultMemorySources)
		m.memoryLimit = uint64(cfg.MemoryHighWatermark * float64(total))
		if total == 0 {
			m.log.Warn("the machine's memory size is unknown, so the memory alarm is off; set --memory-high-watermark to an absolute size to turn it on")
		} else {
			m.log.Debug("memory limit", "limit", m.memoryLimit, "watermark", cfg.MemoryHighWatermark, "of", total, "source", source)
		}
	}
	gauge := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gannet_resource_alarm",
		Help: "1 while a resource alarm is raised (memory above its limit, or free disk below its limit) and writes that add data are held or refused.",
	}, []string{"resource"})
	m.gauges = map[Resource]prometheus.Gauge{
		Memory: gauge.WithLabelValues("memory"),
		Disk:   gauge.WithLabelValues("disk"),
	}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(gauge); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Limits reports the memory limit (0 when the memory alarm is off) and the
// disk free limit, in bytes.
func (m *Monitor) Limits() (memory, diskFree uint64) {
	return m.memoryLimit, m.cfg.DiskFreeLimit
}

// Raised reports the alarms raised now. It is one atomic load.
func (m *Monitor) Raised() Resource {
	if m == nil {
		return 0
	}
	return m.state.Load().raised
}

// Watch reports the alarms raised now and a channel that is closed at the
// next change (one atomic load, no lock), for front-ends that tell clients (AMQP's connection.unblocked)
// or hold a request until the alarm clears. A nil Monitor returns a nil
// channel, which never fires.
func (m *Monitor) Watch() (Resource, <-chan struct{}) {
	if m == nil {
		return 0, nil
	}
	st := m.state.Load()
	return st.raised, st.changed
}

// Wait returns nil once no alarm is raised, or ctx's error if it ends first.
func (m *Monitor) Wait(ctx context.Context) error {
	for {
		raised, changed := m.Watch()
		if raised == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Check measures both resources now, raises or clears the alarms, and
// returns what is raised.
func (m *Monitor) Check() Resource {
	m.checkMu.Lock()
	defer m.checkMu.Unlock()
	current := m.state.Load()
	prev := current.raised
	next := prev

	if m.memoryLimit > 0 {
		used := m.cfg.MemoryUsed()
		high := used > m.memoryLimit
		if high != prev.Has(Memory) {
			if high {
				next |= Memory
				m.log.Warn("memory alarm raised: memory use is above the limit; writes that add data are held or refused until it falls below",
					"used", used, "limit", m.memoryLimit)
			} else {
				next &^= Memory
				m.log.Info("memory alarm cleared", "used", used, "limit", m.memoryLimit)
			}
		}
	}

	free, err := m.cfg.DiskFree()
	switch {
	case err != nil:
		// Keep the disk alarm as it is: one failed statfs says nothing
		// about the free space.
		if !m.diskErrLogged {
			m.diskErrLogged = true
			m.log.Warn("cannot measure free disk space; the disk alarm keeps its state", "err", err)
		}
	default:
		m.diskErrLogged = false
		low := free < m.cfg.DiskFreeLimit
		if low != prev.Has(Disk) {
			if low {
				next |= Disk
				m.log.Warn("disk alarm raised: free disk space is below the limit; writes that add data are held or refused until it rises above",
					"free", free, "limit", m.cfg.DiskFreeLimit)
			} else {
				next &^= Disk
				m.log.Info("disk alarm cleared", "free", free, "limit", m.cfg.DiskFreeLimit)
			}
		}
	}

	if next != prev {
		for r, g := range m.gauges {
			if next.Has(r) {
				g.Set(1)
			} else {
				g.Set(0)
			}
		}
		// The new state is in place before the old channel closes, so a
		// woken watcher reads it.
		m.state.Store(&alarmState{raised: next, changed: make(chan struct{})})
		close(current.changed)
	}
	return next
}

// Start checks once now, so the alarms are right before the first client
// connects, and then every CheckInterval until Stop. Starting a running
// monitor does nothing; one can be started again after Stop.
func (m *Monitor) Start() {
	m.runMu.Lock()
	if m.running {
		m.runMu.Unlock()
		return
	}
	m.running = true
	m.run++
	run := m.run
	m.runMu.Unlock()
	m.tick(run)
}

// tick is one of Start's checks, followed by scheduling the next. It does
// nothing once run has been stopped.
func (m *Monitor) tick(run uint64) {
	m.runMu.Lock()
	defer m.runMu.Unlock()
	if !m.running || m.run != run {
		return
	}
	m.Check()
	m.timer = m.cfg.Clock.AfterFunc(m.cfg.CheckInterval, func() { m.tick(run) })
}

// Stop ends Start's checks and returns once a check under way has
// finished, so no alarm is raised or cleared by Start's checks after it;
// the alarms keep their last state.
func (m *Monitor) Stop() {
	m.runMu.Lock()
	defer m.runMu.Unlock()
	m.running = false
	if m.timer != nil {
		m.timer.Stop()
	}
}
