package storage

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
)

// faultyFS wraps real files and fails Sync or WriteAt on demand. With
// direct set its files also write with O_DIRECT, as real files do.
type faultyFS struct {
	failSync  atomic.Bool
	shortWrit atomic.Bool
	direct    bool
	// holdSync, while set, holds every fsync until the channel is closed.
	holdSync atomic.Pointer[chan struct{}]
}

func (fs *faultyFS) open(name string, flag int, perm os.FileMode) (File, error) {
	f, err := OpenOSFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	if fs.direct {
		return &faultyDirectFile{faultyFile{File: f, fs: fs}, directThrough{f.(directFile)}}, nil
	}
	return &faultyFile{File: f, fs: fs}, nil
}

// directThrough gives a test's file wrapper the O_DIRECT writes of the
// real file it wraps.
type directThrough struct{ real directFile }

func (d directThrough) OpenDirect() error  { return d.real.OpenDirect() }
func (d directThrough) CloseDirect() error { return d.real.CloseDirect() }
func (d directThrough) WriteDirect(p []byte, off int64) (int, error) {
	return d.real.WriteDirect(p, off)
}

type faultyDirectFile struct {
	faultyFile
	directThrough
}

type faultyFile struct {
	File
	fs *faultyFS
}

func (f *faultyFile) Sync() error {
	if f.fs.failSync.Load() {
		return syscall.EIO
	}
	if hold := f.fs.holdSync.Load(); hold != nil {
		<-*hold
	}
	return f.File.Sync()
}

func (f *faultyFile) WriteAt(p []byte, off int64) (int, error) {
	if f.fs.shortWrit.Load() && len(p) > 1 {
		n, _ := f.File.WriteAt(p[:len(p)/2], off)
		return n, io.ErrShortWrite
	}
	return f.File.WriteAt(p, off)
}

func TestFsyncFailureFailsLog(t *testing.T) {
	for _, fault := range []string{"fsync", "short write"} {
		t.Run(fault, func(t *testing.T) {
			fs := &faultyFS{}
			var syncErrs atomic.Int64
			l := openLog(t, t.TempDir(), Options{OpenFile: fs.open, OnSync: func(_ time.Duration, _ int64, err error) {
				if err != nil {
					syncErrs.Add(1)
				}
			}})
			appendN(t, l, 0, 5)
			if fault == "fsync" {
				fs.failSync.Store(true)
			} else {
				fs.shortWrit.Store(true)
			}
			a, err := l.Append([]batch.Record{{Value: []byte("lost")}})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Wait(context.Background()); !errors.Is(err, ErrFailed) {
				t.Fatalf("Wait after failed %s: %v", fault, err)
			}
			fs.failSync.Store(false)
			fs.shortWrit.Store(false)
			if _, err := l.Append([]batch.Record{{Value: []byte("later")}}); !errors.Is(err, ErrFailed) {
				t.Fatalf("Append after failure: %v", err)
			}
			if l.EndOffset() != 5 || !l.Stats().Failed {
				t.Fatalf("end %d failed %v", l.EndOffset(), l.Stats().Failed)
			}
			// Data acknowledged before the failure stays readable.
			checkValues(t, readAll(t, l, 0), 0, 0)
			if err := l.Close(); !errors.Is(err, ErrFailed) {
				t.Fatalf("Close: %v", err)
			}
			// OnSync runs after the waiters are woken; the syncer has
			// finished once Close returns.
			if n := syncErrs.Load(); n != 1 {
				t.Fatalf("OnSync saw %d failed rounds, want 1", n)
			}
		})
	}
}

func TestFsyncFailureReleasesAllWaiters(t *testing.T) {
	fs := &faultyFS{}
	l := openLog(t, t.TempDir(), Options{OpenFile: fs.open})
	fs.failSync.Store(true)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 16 {
		wg.Go(func() {
			a, err := l.Append([]batch.Record{{Value: []byte("x")}})
			if err == nil {
				err = a.Wait(context.Background())
			}
			if errors.Is(err, ErrFailed) {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 16 {
		t.Fatalf("%d of 16 appenders saw ErrFailed", failed.Load())
	}
}

func TestGroupCommit(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{})
	const appenders, each = 32, 40
	var wg sync.WaitGroup
	for g := range appenders {
		wg.Go(func() {
			for i := range each {
				a, err := l.Append([]batch.Record{{Key: []byte{byte(g)}, Value: value(i)}})
				if err == nil {
					err = a.Wait(context.Background())
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := l.Stats()
	if st.Appends != appenders*each || st.EndOffset != appenders*each {
		t.Fatalf("stats %+v", st)
	}
	if st.Syncs >= st.Appends/2 {
		t.Fatalf("%d fsyncs for %d appends: no group commit", st.Syncs, st.Appends)
	}
	t.Logf("%d appends, %d fsyncs", st.Appends, st.Syncs)
}

func TestWaitHonoursContext(t *testing.T) {
	fs := &faultyFS{}
	var gate atomic.Pointer[chan struct{}]
	l := openLog(t, t.TempDir(), Options{OpenFile: func(name string, flag int, perm os.FileMode) (File, error) {
		f, err := fs.open(name, flag, perm)
		return &blockingFile{File: f, gate: &gate}, err
	}})
	block := make(chan struct{})
	gate.Store(&block)
	a, _ := l.Append([]batch.Record{{Value: []byte("x")}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with cancelled context: %v", err)
	}
	close(block)
	if err := a.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// blockingFile holds every Sync, once a gate is set, until the gate closes.
type blockingFile struct {
	File
	gate *atomic.Pointer[chan struct{}]
}

func (f *blockingFile) Sync() error {
	if g := f.gate.Load(); g != nil {
		<-*g
	}
	return f.File.Sync()
}
