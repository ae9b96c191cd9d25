package ingest_test

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/ingest/ingesttest"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

// BenchmarkIngest streams b.N sessions over 4 connections carrying 10,000
// distinct clients into an on-disk database and stops the clock when the
// last one is acknowledged. It reports sessions/s and the commit latency
// percentiles seen through Config.OnBatch.
func BenchmarkIngest(b *testing.B) {
	for _, batch := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			var mu sync.Mutex
			var commits []time.Duration
			// Fixed-size batches, so the latencies are those of that size.
			cfg := ingest.Config{BatchSize: batch, MaxBatchSize: batch, BatchInterval: 100 * time.Millisecond,
				OnBatch: func(_, _ int, d time.Duration) {
					mu.Lock()
					commits = append(commits, d)
					mu.Unlock()
				}}
			h := startQuiet(b, cfg)
			const conns = 4
			bodies := ingesttest.Bodies(20000, 10000, 7)
			per := max(b.N/conns, 1)
			b.ResetTimer()
			var wg sync.WaitGroup
			for c := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := ingesttest.Stream(h.addr, fmt.Sprintf("bench-%d-%d", c, b.N), per, bodies, 0, 5*time.Minute); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(per*conns)/b.Elapsed().Seconds(), "sessions/s")
			mu.Lock()
			defer mu.Unlock()
			if len(commits) > 0 {
				slices.Sort(commits)
				b.ReportMetric(float64(commits[len(commits)/2].Microseconds())/1000, "commit-p50-ms")
				b.ReportMetric(float64(commits[(len(commits)*99)/100].Microseconds())/1000, "commit-p99-ms")
			}
		})
	}
}

func startQuiet(b *testing.B, cfg ingest.Config) *harness {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.db")
	quiet := slog.New(slog.DiscardHandler)
	st, err := store.Open(b.Context(), path, store.Options{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	cfg.Logger = quiet
	return startWith(b, cfg, st, path)
}
