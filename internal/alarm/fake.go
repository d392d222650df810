package alarm

import "sync/atomic"

// Fake is a Monitor over measurements a test sets, for front-end tests:
// Set(Memory) makes memory use exceed its limit and checks at once, so a
// test raises and clears alarms without sleeping. Hand f.Monitor to the
// front-end.
type Fake struct {
	*Monitor
	used, free atomic.Uint64
}

// Limits of a Fake's monitor; Set moves the measurements across them.
const (
	fakeMemoryLimit   = 1 << 30
	fakeDiskFreeLimit = 1 << 20
)

// NewFake returns a Fake with no alarm raised. It has no clock: only Set
// (or Check) measures.
func NewFake() *Fake {
	f := &Fake{}
	f.used.Store(fakeMemoryLimit / 2)
	f.free.Store(fakeDiskFreeLimit * 2)
	m, err := New(Config{
		MemoryUsed:    f.used.Load,
		DiskFree:      func() (uint64, error) { return f.free.Load(), nil },
		MemoryLimit:   fakeMemoryLimit,
		DiskFreeLimit: fakeDiskFreeLimit,
	})
	if err != nil {
		panic(err) // the fixed config above is valid
	}
	f.Monitor = m
	return f
}

// Set makes exactly the resources in raised cross their limits, checks,
// and returns what the monitor now reports.
func (f *Fake) Set(raised Resource) Resource {
	f.used.Store(fakeMemoryLimit / 2)
	if raised.Has(Memory) {
		f.used.Store(fakeMemoryLimit + 1)
	}
	f.free.Store(fakeDiskFreeLimit * 2)
	if raised.Has(Disk) {
		f.free.Store(fakeDiskFreeLimit - 1)
	}
	return f.Check()
}
