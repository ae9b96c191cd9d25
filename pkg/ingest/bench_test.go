package ingest_test

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
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
			cfg := ingest.Config{BatchSize: batch, BatchInterval: 100 * time.Millisecond,
				OnBatch: func(_, _ int, d time.Duration) {
					mu.Lock()
					commits = append(commits, d)
					mu.Unlock()
				}}
			h := startQuiet(b, cfg)
			const conns = 4
			bodies := sessionBodies(20000, 10000)
			per := max(b.N/conns, 1)
			b.ResetTimer()
			var wg sync.WaitGroup
			for c := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := streamRaw(h.addr, fmt.Sprintf("bench-%d-%d", c, b.N), per, bodies); err != nil {
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

// sessionBodies encodes n sessions over the given number of clients and
// keeps each line after its seq, so a stream can number them cheaply.
func sessionBodies(n, clients int) [][]byte {
	g := storetest.NewGenerator(clients, 7)
	var s session.Session
	out := make([][]byte, n)
	for i := range out {
		g.Next(&s)
		line := wire.AppendSession(nil, 1, &s)
		out[i] = bytes.Clone(line[len(`{"type":"session","seq":1`):])
	}
	return out
}

func streamRaw(addr, id string, n int, bodies [][]byte) error {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	if _, err := nc.Write(wire.AppendHello(nil, &wire.Hello{Protocol: wire.Protocol, WorkerID: id, Interface: "eth0"})); err != nil {
		return err
	}
	br := bufio.NewReader(nc)
	if _, err := br.ReadSlice('\n'); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		dec := wire.NewDecoder()
		var m wire.Message
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				done <- err
				return
			}
			if dec.Decode(line, &m) == nil && m.Type == wire.TypeAck && m.Seq >= uint64(n) {
				done <- nil
				return
			}
		}
	}()
	bw := bufio.NewWriterSize(nc, 256<<10)
	var buf []byte
	for seq := 1; seq <= n; seq++ {
		buf = append(buf[:0], `{"type":"session","seq":`...)
		buf = strconv.AppendInt(buf, int64(seq), 10)
		buf = append(buf, bodies[seq%len(bodies)]...)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return <-done
}
