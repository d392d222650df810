package storage

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gannet-mq/gannet/internal/batch"
)

// BenchmarkAppend measures durable appends of 1 KiB records, one record per
// Append, each appender waiting for durability before its next append.
func BenchmarkAppend(b *testing.B) {
	for _, appenders := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("appenders=%d", appenders), func(b *testing.B) {
			l, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			val := make([]byte, 1024)
			per := (b.N + appenders - 1) / appenders
			b.ReportAllocs()
			b.ResetTimer()
			began := time.Now()
			var wg sync.WaitGroup
			for range appenders {
				wg.Go(func() {
					recs := []batch.Record{{Value: val}}
					ctx := context.Background()
					for range per {
						a, err := l.Append(recs)
						if err == nil {
							err = a.Wait(ctx)
						}
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			secs := time.Since(began).Seconds()
			b.StopTimer()
			n := float64(per * appenders)
			b.ReportMetric(n/secs, "records/s")
			b.ReportMetric(n*1024/secs/1e6, "MB/s")
			st := l.Stats()
			b.ReportMetric(float64(st.Appends)/float64(max(st.Syncs, 1)), "appends/fsync")
		})
	}
}

// TestMemoryFlatWhileStoring appends 200 MB and checks that the heap does
// not grow with the data: records live on disk, only sparse indexes in RAM.
func TestMemoryFlatWhileStoring(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200 MB")
	}
	l := openLog(t, t.TempDir(), Options{Sync: SyncNever})
	val := make([]byte, 16<<10)
	recs := []batch.Record{{Value: val}, {Value: val}, {Value: val}, {Value: val}} // 64 KiB batches
	appendMB := func(mb int) {
		for range mb * 16 {
			if _, err := l.Append(recs); err != nil {
				t.Fatal(err)
			}
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	appendMB(8) // warm up buffers
	before := heap()
	appendMB(200)
	after := heap()
	growth := int64(after) - int64(before)
	t.Logf("heap before %d KiB, after 200 MB stored %d KiB (growth %d KiB); %d segments",
		before>>10, after>>10, growth>>10, l.Stats().Segments)
	if growth > 4<<20 {
		t.Fatalf("heap grew by %d bytes while storing 200 MB", growth)
	}
}

// BenchmarkPreallocatedSync compares fdatasync after 4 KiB and 64 KiB writes
// into a segment preallocated by fallocate, by sparse truncate, or by
// writing zeros; it informed the choice of fallocate in createSegment.
func BenchmarkPreallocatedSync(b *testing.B) {
	for _, mode := range []string{"fallocate", "truncate", "zerofill"} {
		for _, size := range []int{4 << 10, 64 << 10} {
			b.Run(fmt.Sprintf("%s/%dKiB", mode, size>>10), func(b *testing.B) {
				const segment = 64 << 20
				f, err := OpenOSFile(b.TempDir()+"/seg", os.O_CREATE|os.O_RDWR, 0o644)
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				switch mode {
				case "fallocate":
					err = f.(allocator).Allocate(segment)
				case "truncate":
					err = f.Truncate(segment)
				case "zerofill":
					_, err = f.WriteAt(make([]byte, segment), 0)
					if err == nil {
						err = f.Sync()
					}
				}
				if err != nil {
					b.Fatal(err)
				}
				buf := make([]byte, size)
				b.SetBytes(int64(size))
				b.ResetTimer()
				pos := int64(0)
				for b.Loop() {
					if pos+int64(size) > segment {
						pos = 0
					}
					if _, err := f.WriteAt(buf, pos); err != nil {
						b.Fatal(err)
					}
					if err := f.Sync(); err != nil {
						b.Fatal(err)
					}
					pos += int64(size)
				}
			})
		}
	}
}
