package httpapi

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
)

// BenchmarkObserveCommit is what the committed-traffic series cost the
// writer per batch, beside the commit of the same batch (1,000 sessions of
// 1,000,000 clients over two minutes, one interface) into a real store:
// the ratio is the share of the commit the histograms add.
func BenchmarkObserveCommit(b *testing.B) {
	from := time.Now().Add(-time.Hour).Truncate(time.Minute)
	ss := storetest.SeriesSessions(1000, 1_000_000, from, 2*time.Minute, 3)
	batch := store.NewBatch()
	for i := range ss {
		batch.Add("w", "eth0", uint64(i+1), &ss[i])
	}
	b.Run("observe", func(b *testing.B) {
		m := NewMetrics()
		for b.Loop() {
			m.ObserveCommit(batch)
		}
	})
	b.Run("commit", func(b *testing.B) {
		st := openStore(b)
		seq := uint64(0)
		for b.Loop() {
			bt := store.NewBatch()
			for i := range ss {
				seq++
				bt.Add("w", "eth0", seq, &ss[i])
			}
			if _, err := st.Commit(context.Background(), bt); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkScrapeCommitted scrapes /metrics with the committed-traffic
// series of 64 interfaces (MaxInterfaceSeries), each of a day of 100,000
// sessions, against the same scrape without them, and reports the bytes
// they add to the text format.
func BenchmarkScrapeCommitted(b *testing.B) {
	from := time.Now().Add(-25 * time.Hour).Truncate(time.Minute)
	empty := NewMetrics()
	m := NewMetrics()
	for i := range MaxInterfaceSeries {
		ss := storetest.SeriesSessions(100_000, 10_000, from, 24*time.Hour, uint64(i))
		batch := store.NewBatch()
		for j := range ss {
			ss[j].Interface = fmt.Sprintf("eth%d", i)
			batch.Add("w", ss[j].Interface, uint64(j+1), &ss[j])
		}
		m.ObserveCommit(batch)
	}
	size := func(m *Metrics) int {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.Len()
	}
	base := size(empty)
	// The reference: the same scrape without the committed traffic.
	b.Run("without", func(b *testing.B) {
		for b.Loop() {
			size(empty)
		}
	})
	b.Run("interfaces=64", func(b *testing.B) {
		var n int
		for b.Loop() {
			n = size(m)
		}
		b.ReportMetric(float64(n-base), "bytes_added")
		b.ReportMetric(float64(n-base)/MaxInterfaceSeries, "bytes_per_interface")
	})
}
