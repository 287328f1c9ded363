package boltqueue_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flowglad-go/flowglad/usage"
	"github.com/flowglad-go/flowglad/usage/boltqueue"
)

// benchPut puts one event per call from b.N calls spread over GOMAXPROCS×parallelism
// goroutines (a server's request handlers recording), and reports the p50 and p99 latency of
// one Put beside the throughput.
func benchPut(b *testing.B, q usage.Queue, parallelism int) {
	ctx := context.Background()
	e := event(1)
	var mu sync.Mutex
	var all []time.Duration
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		batch := []usage.Event{e}
		for pb.Next() {
			start := time.Now()
			if err := q.Put(ctx, batch); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		all = append(all, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2])/1e3, "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100])/1e3, "p99-µs")
}

// BenchmarkPut puts one event per call into the memory queue and into a bolt file, with 1,
// 16 and 64 goroutines per CPU: the bolt queue's throughput grows with concurrency because
// concurrent Puts share one commit and one fsync, while each Put still waits for its fsync.
// bolt-background is SyncInBackground: a Put writes to the log, and the mover commits.
func BenchmarkPut(b *testing.B) {
	for _, p := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("memory/goroutines=%dxGOMAXPROCS", p), func(b *testing.B) {
			q := usage.NewMemoryQueue(1 << 30)
			defer q.Close()
			benchPut(b, q, p)
		})
		b.Run(fmt.Sprintf("bolt/goroutines=%dxGOMAXPROCS", p), func(b *testing.B) {
			q, err := boltqueue.Open(filepath.Join(b.TempDir(), "usage.db"), boltqueue.WithCapacity(1<<30))
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close()
			benchPut(b, q, p)
		})
		b.Run(fmt.Sprintf("bolt-background/goroutines=%dxGOMAXPROCS", p), func(b *testing.B) {
			q, err := boltqueue.Open(filepath.Join(b.TempDir(), "usage.db"), boltqueue.WithCapacity(1<<30),
				boltqueue.WithDurability(boltqueue.SyncInBackground))
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close()
			benchPut(b, q, p)
		})
	}
}

// BenchmarkDiskSync is the disk's own floor under the bolt queue: one 4 KB write at the end
// of a file in the directory the benchmarks' queues use, then File.Sync, one at a time. A
// bbolt commit syncs twice (its pages, then its meta page), and a Put waits for one commit,
// or for the one running and then its own: a Put's p99 cannot be below this p99.
func BenchmarkDiskSync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	page := make([]byte, 4096)
	all := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := f.Write(page); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		all = append(all, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2])/1e3, "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100])/1e3, "p99-µs")
}
