package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/httpapi"
	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/ingest/ingesttest"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/stream"
)

// BenchmarkCollectorStream is a run of loadgen inside one process, for a
// CPU profile of where the live stream's cost goes (the collector binary
// has no profiling endpoint): the collector's parts wired as serve wires
// them (store, ingestion with group commit from batches of 100, the
// broadcaster, the HTTP API with a read token), b.N sessions over 4
// connections and 10,000 clients, and the subscribers of each
// configuration reading GET /api/ntp/stream over real HTTP.
//
//	go test -run '^$' -bench 'CollectorStream/streams=32$' -benchtime 400000x \
//	  -cpuprofile cpu.out ./scripts/loadgen && go tool pprof -top cpu.out
func BenchmarkCollectorStream(b *testing.B) {
	for _, spec := range []string{"0", "32", "32@198.18.0.0/24"} {
		specs, err := parseStreamSpecs(spec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("streams="+spec, func(b *testing.B) {
			const conns = 4
			per := max(b.N/conns, 1)
			ld := newLoad(per*conns, 10000, 42)
			c := startInProcess(b)
			var subs *audience
			if specs[0].subs > 0 {
				if subs, err = subscribe(b.Context(), c.base, c.token, specs[0]); err != nil {
					b.Fatal(err)
				}
				defer subs.close()
			}
			b.ResetTimer()
			var wg sync.WaitGroup
			for i := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := ingesttest.Stream(c.ingest, fmt.Sprintf("bench-%d", i), per, ld.bodies, ld.offset(i, conns), 5*time.Minute); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(per*conns)/b.Elapsed().Seconds(), "sessions/s")
			if subs != nil {
				t, err := subs.settle(b.Context(), c.base+"/metrics", c.token, ld.matching(specs[0].cidr, per, conns))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(t.sessions)/float64(specs[0].subs), "events/sub")
				b.ReportMetric(float64(t.dropped)/float64(specs[0].subs), "dropped/sub")
			}
		})
	}
}

// inProcess is a collector's ingestion, stream and HTTP API in this
// process.
type inProcess struct {
	ingest, base, token string
}

func startInProcess(b *testing.B) *inProcess {
	b.Helper()
	quiet := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "ntp.db"), store.Options{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	ingLn, err := ingest.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	httpLn, err := httpapi.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	metrics := httpapi.NewMetrics()
	live := stream.New(stream.Config{})
	ing := ingest.New(ingest.Config{Listener: ingLn, BatchSize: 100, BatchInterval: 200 * time.Millisecond,
		Logger: quiet, OnBatch: metrics.ObserveBatch, Stream: live}, st)
	c := &inProcess{ingest: ingLn.Addr().String(), base: "http://" + httpLn.Addr().String(), token: "read-" + b.Name()}
	api, err := httpapi.New(httpapi.Config{Addr: httpLn.Addr().String(), Store: st, Ingest: ing, Token: "admin-" + b.Name(),
		ReadToken: c.token, Logger: quiet, Metrics: metrics, Stream: live})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(2)
	go func() { defer wg.Done(); errs <- ing.Serve(ctx) }()
	go func() { defer wg.Done(); errs <- api.Run(ctx, httpLn) }()
	b.Cleanup(func() {
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil && !errors.Is(err, net.ErrClosed) {
				b.Error(err)
			}
		}
		live.Close()
		st.Close()
	})
	return c
}
