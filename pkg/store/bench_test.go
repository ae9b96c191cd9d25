package store

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
)

// benchClients is the number of distinct clients the benchmarks spread
// sessions over.
const benchClients = 10000

// BenchmarkBatchAdd measures folding one session into a batch that is reset
// every 1,000 sessions, as the collector does between commits.
func BenchmarkBatchAdd(b *testing.B) {
	for _, clients := range []int{100, benchClients} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			ss := storetest.Sessions(1<<14, clients, 1)
			batch := NewBatch()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i%1000 == 0 {
					batch.Reset()
				}
				batch.Add("worker", "eth0", uint64(i+1), &ss[i&(len(ss)-1)])
			}
		})
	}
}

// benchDir is where commit benchmarks put their database: a directory on
// the disk under test. NTP_BENCH_DIR overrides the default temporary
// directory, which must not be a tmpfs for the synchronous levels to differ.
func benchDir(b *testing.B) string {
	if d := os.Getenv("NTP_BENCH_DIR"); d != "" {
		dir, err := os.MkdirTemp(d, "store-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	return b.TempDir()
}

// BenchmarkCommit measures committing batches of 100, 1,000, 10,000 and
// 50,000 sessions over 10,000 distinct clients into an on-disk database that
// already holds every client, at synchronous NORMAL and FULL. It reports
// the p50 and p99 commit latency, rows/s and sessions/s. Rows are the
// distinct clients in a batch: 10,000 sessions over 10,000 clients make
// about 6,300 rows, 50,000 make about 9,900, so past that point a bigger
// batch adds sessions/s almost for free.
func BenchmarkCommit(b *testing.B) {
	for _, sync := range []string{SynchronousNormal, SynchronousFull} {
		for _, size := range []int{100, 1000, 10000, 50000} {
			b.Run(fmt.Sprintf("sync=%s/sessions=%d", sync, size), func(b *testing.B) {
				benchCommit(b, sync, size)
			})
		}
	}
}

// BenchmarkCommitSyncBehind is NORMAL commits with Store.Sync run in the
// background after each, one at a time, the way a writer that acknowledges
// only durable batches would overlap the disk flush with the next batch.
func BenchmarkCommitSyncBehind(b *testing.B) {
	for _, size := range []int{100, 1000, 10000, 50000} {
		b.Run(fmt.Sprintf("sessions=%d", size), func(b *testing.B) {
			benchCommitOpts(b, SynchronousNormal, size, true)
		})
	}
}

func benchCommit(b *testing.B, sync string, size int) {
	benchCommitOpts(b, sync, size, false)
}

func benchCommitOpts(b *testing.B, sync string, size int, syncBehind bool) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(benchDir(b), "ntp.db"), Options{
		Synchronous: sync,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()

	// Every client exists before the timed commits: the steady state of a
	// long-running collector is mostly updates.
	g := storetest.NewGenerator(benchClients, 42)
	var sess session.Session
	batch := NewBatch()
	seq := uint64(0)
	for i := range benchClients {
		g.Next(&sess)
		sess.ClientIP = storetest.Client(i)
		seq++
		batch.Add("bench", "eth0", seq, &sess)
	}
	if _, err := s.Commit(ctx, batch); err != nil {
		b.Fatal(err)
	}

	cpu0 := cpuTime()
	lat := make(storetest.Latencies, 0, b.N)
	synced := make(chan error, 1)
	synced <- nil
	var rows, sessions int
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		batch.Reset()
		for range size {
			g.Next(&sess)
			seq++
			batch.Add("bench", "eth0", seq, &sess)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := s.Commit(ctx, batch); err != nil {
			b.Fatal(err)
		}
		if syncBehind {
			if err := <-synced; err != nil { // the previous batch's flush
				b.Fatal(err)
			}
			go func() { synced <- s.Sync() }()
		}
		d := time.Since(start)
		lat = append(lat, d)
		total += d
		rows += batch.Rows()
		sessions += batch.Len()
	}
	if err := <-synced; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	// Process CPU time, batch building included, per commit: unlike the
	// latencies it does not depend on how busy the machine is.
	b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
	lat.Report(b, "commit")
	b.ReportMetric(float64(rows)/total.Seconds(), "rows/s")
	b.ReportMetric(float64(sessions)/total.Seconds(), "sessions/s")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// readBenchStore is a database holding benchClients clients, one row each,
// for the read benchmarks.
func readBenchStore(b *testing.B) *Store {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "ntp.db"), Options{
		Synchronous: SynchronousNormal,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	g := storetest.NewGenerator(benchClients, 42)
	var sess session.Session
	batch := NewBatch()
	for i := range benchClients {
		g.Next(&sess)
		sess.ClientIP = storetest.Client(i)
		batch.Add("bench", "eth0", uint64(i+1), &sess)
	}
	if _, err := s.Commit(ctx, batch); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkListClients reads one page of 1,000 clients in the API's
// default order: the select list and the scan of every row.
func BenchmarkListClients(b *testing.B) {
	s := readBenchStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		rows, _, err := s.ListClients(ctx, ClientFilter{}, Sort{Desc: true}, Page{Number: 2, Size: 1000})
		if err != nil || len(rows) != 1000 {
			b.Fatalf("%d rows, %v", len(rows), err)
		}
	}
}

// BenchmarkExportRendered exports the whole table with a render that
// appends only the id, so that what is measured is reading and scanning.
func BenchmarkExportRendered(b *testing.B) {
	s := readBenchStore(b)
	ctx := context.Background()
	render := func(buf []byte, c *Client) []byte { return strconv.AppendInt(buf, c.ID, 10) }
	b.ReportAllocs()
	for b.Loop() {
		n, err := s.ExportRendered(ctx, ClientFilter{}, 0, 2, render, func(ExportChunk) error { return nil })
		if err != nil || n != benchClients {
			b.Fatalf("%d rows, %v", n, err)
		}
	}
}

// BenchmarkListFilters counts, lists the first page of, and exports the
// clients selected by 1,000-value lists — the API's maximum — in the
// database NTP_BENCH_DB names (such as one filled by `apiload fill`,
// scripts/bench-api.sh; it is opened, never written): 1,000 of its clients
// as /32 (or /128) prefixes and as addresses, the /24s (/120s) around
// them, 1,000 prefixes that hold no client, and 1,000 interface names.
func BenchmarkListFilters(b *testing.B) {
	path := os.Getenv("NTP_BENCH_DB")
	if path == "" {
		b.Skip("set NTP_BENCH_DB to a filled database (scripts/apiload fill) to run")
	}
	ctx := context.Background()
	s, err := Open(ctx, path, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	var total int64
	if err := s.ReadDB().QueryRowContext(ctx, "SELECT count(*) FROM ntp_clients").Scan(&total); err != nil {
		b.Fatal(err)
	}
	rows, err := s.ReadDB().QueryContext(ctx, "SELECT client_ip FROM ntp_clients WHERE id % ? = 0 LIMIT 1000", max(total/1000, 1))
	if err != nil {
		b.Fatal(err)
	}
	var ips []netip.Addr
	for rows.Next() {
		var ip string
		rows.Scan(&ip)
		ips = append(ips, netip.MustParseAddr(ip))
	}
	rows.Close()
	var hosts, around, none []netip.Prefix
	var ifaces []string
	for i, a := range ips {
		bits := 24
		if !a.Is4() {
			bits = 120
		}
		hosts = append(hosts, netip.PrefixFrom(a, a.BitLen()))
		around = append(around, netip.PrefixFrom(a, bits).Masked())
		none = append(none, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 32))
		ifaces = append(ifaces, "eth"+strconv.Itoa(i))
	}
	b.Logf("%d clients; 1,000 values per list", total)
	for _, tc := range []struct {
		name string
		f    ClientFilter
	}{
		{"prefixes=hosts", ClientFilter{Prefixes: hosts}},
		{"prefixes=around", ClientFilter{Prefixes: around}},
		{"prefixes=none", ClientFilter{Prefixes: none}},
		{"ips", ClientFilter{IPs: ips}},
		{"interfaces", ClientFilter{Interfaces: ifaces}},
	} {
		n, _ := s.CountClients(ctx, tc.f)
		b.Run(tc.name+"/count", func(b *testing.B) {
			for b.Loop() {
				if _, err := s.CountClients(ctx, tc.f); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/first-page", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := s.ListClients(ctx, tc.f, Sort{Desc: true}, Page{Number: 1, Size: 20}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/export", func(b *testing.B) {
			render := func(buf []byte, c *Client) []byte { return strconv.AppendInt(buf, c.ID, 10) }
			for b.Loop() {
				got, err := s.ExportRendered(ctx, tc.f, 0, 2, render, func(ExportChunk) error { return nil })
				if err != nil || got != n {
					b.Fatalf("%d rows, %v; want %d", got, err, n)
				}
			}
			b.ReportMetric(float64(n), "rows")
		})
	}
}

// BenchmarkCommitSeries measures what the traffic series adds to a commit:
// every iteration commits one batch with the series and one without (the
// write path before it, Store.seriesOff), alternating which goes first, on
// the same database, so both see the same machine. The store holds every
// client first; each batch is 1,000 sessions from the generator, nearly
// every one a distinct client at 1,000,000. It reports both medians and
// their ratio.
func BenchmarkCommitSeries(b *testing.B) {
	for _, clients := range []int{benchClients, 1000000} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			ctx := context.Background()
			s := openBench(b)
			g := storetest.NewGenerator(clients, 42)
			var sess session.Session
			batch := NewBatch()
			seq := uint64(0)
			for i := range clients {
				g.Next(&sess)
				sess.ClientIP = storetest.Client(i)
				seq++
				batch.Add("bench", "eth0", seq, &sess)
				if batch.Len() == 50000 || i == clients-1 {
					if _, err := s.Commit(ctx, batch); err != nil {
						b.Fatal(err)
					}
					batch.Reset()
				}
			}
			on := make(storetest.Latencies, 0, b.N)
			off := make(storetest.Latencies, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				for j := range 2 {
					b.StopTimer()
					batch.Reset()
					for range 1000 {
						g.Next(&sess)
						seq++
						batch.Add("bench", "eth0", seq, &sess)
					}
					s.seriesOff = (i+j)%2 == 0
					b.StartTimer()
					start := time.Now()
					if _, err := s.Commit(ctx, batch); err != nil {
						b.Fatal(err)
					}
					if s.seriesOff {
						off = append(off, time.Since(start))
					} else {
						on = append(on, time.Since(start))
					}
				}
			}
			b.StopTimer()
			pOn, pOff := on.Percentile(50), off.Percentile(50)
			b.ReportMetric(float64(pOn)/1e6, "series-p50-ms")
			b.ReportMetric(float64(pOff)/1e6, "noseries-p50-ms")
			b.ReportMetric(float64(pOn)/float64(pOff), "ratio")
		})
	}
}

// BenchmarkSeriesStorage measures what a day of minute buckets of one
// interface takes on disk (series_minute's pages, from dbstat) at a small
// and at a large server's traffic: clients polling every 64 s, so about
// clients × 60/64 requests a minute, each minute its own commit. It reports
// bytes per interface per day; b.N is ignored beyond one day per run.
func BenchmarkSeriesStorage(b *testing.B) {
	for _, clients := range []int{100, 2000} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			ctx := context.Background()
			s := openBench(b)
			g := storetest.NewGenerator(clients, 7)
			var sess session.Session
			batch := NewBatch()
			perMinute := clients * 60 / 64
			seq := uint64(0)
			day := storetest.Base.Truncate(24 * time.Hour)
			for range b.N {
				for m := range 1440 {
					batch.Reset()
					for range perMinute {
						g.Next(&sess)
						sess.Timestamp = day.Add(time.Duration(m) * time.Minute).Add(time.Duration(seq%60) * time.Second)
						seq++
						batch.Add("bench", "eth0", seq, &sess)
					}
					if _, err := s.Commit(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
				day = day.Add(24 * time.Hour)
			}
			b.StopTimer()
			var minuteBytes, hourBytes int64
			for name, n := range map[string]*int64{"series_minute": &minuteBytes, "series_hour": &hourBytes} {
				if err := s.r.QueryRowContext(ctx, "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ?", name).Scan(n); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(minuteBytes)/float64(b.N), "minute-bytes/iface/day")
			b.ReportMetric(float64(hourBytes)/float64(b.N), "hour-bytes/iface/day")
		})
	}
}

// openBench opens a store at synchronous NORMAL in benchDir, closed when
// the benchmark ends.
func openBench(b *testing.B) *Store {
	s, err := Open(context.Background(), filepath.Join(benchDir(b), "ntp.db"), Options{
		Synchronous: SynchronousNormal,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkSeriesRead measures reading the series as the API does, over 8
// interfaces whose every bucket holds the traffic of 2,000 clients (a full
// 4 KiB client sketch and three histograms): a day at 60 s, 30 days at 1 h,
// 400 days at 1 d, and the totals of 30 days (the statistics' range, ragged
// by half an hour at both ends), by one reader and by 16 at once. The
// buckets are written straight into the tables, one encoded bucket copied,
// since a month of commits would take hours here. It reports the p50 and
// p99 latency of one read.
//
// The store's clock reads the end of the totals' range, as for a
// dashboard's "last 30 days": the settled part is merged once and kept
// (series_memo.go), the last minutes are read on every call. The
// first-of-a-minute case starts each read a minute earlier than the one
// before, so that nothing kept serves it: what the first read after the
// range moves costs.
func BenchmarkSeriesRead(b *testing.B) {
	ctx := context.Background()
	s := openBench(b)
	g := storetest.NewGenerator(2000, 3)
	var bucket SeriesBucket
	var sess session.Session
	for range 5000 {
		g.Next(&sess)
		bucket.fold(&sess, sess.ClientIP)
	}
	args, err := bucket.RowValues()
	if err != nil {
		b.Fatal(err)
	}
	end := storetest.Base.Truncate(24 * time.Hour)
	fill := func(table string, step time.Duration, n int) {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		put, err := tx.PrepareContext(ctx, seriesPutSQL(table))
		if err != nil {
			b.Fatal(err)
		}
		for i := range 8 {
			for j := range n {
				at := end.Add(-time.Duration(j+1) * step).Unix()
				if _, err := put.ExecContext(ctx, append([]any{fmt.Sprintf("eth%d", i), at}, args...)...); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	fill("series_minute", time.Minute, 24*60+60) // a day and the edge hour
	fill("series_hour", time.Hour, 30*24+24)
	fill("series_day", 24*time.Hour, 400)
	now := end.Add(-30 * time.Minute)
	s.clock.read = func() time.Time { return now }
	var moved atomic.Int64
	reads := []struct {
		name string
		read func() error
	}{
		{"1d-at-60s", func() error {
			_, err := s.Series(ctx, SeriesQuery{From: end.Add(-24 * time.Hour), To: end, Step: time.Minute})
			return err
		}},
		{"30d-at-1h", func() error {
			_, err := s.Series(ctx, SeriesQuery{From: end.Add(-30 * 24 * time.Hour), To: end, Step: time.Hour})
			return err
		}},
		{"400d-at-1d", func() error {
			_, err := s.Series(ctx, SeriesQuery{From: end.Add(-400 * 24 * time.Hour), To: end, Step: 24 * time.Hour})
			return err
		}},
		{"30d-totals", func() error {
			_, _, err := s.SeriesTotals(ctx, now.Add(-30*24*time.Hour), now, nil)
			return err
		}},
		{"30d-totals-first-of-a-minute", func() error {
			from := now.Add(-30*24*time.Hour - time.Duration(moved.Add(1))*time.Minute)
			_, _, err := s.SeriesTotals(ctx, from, now, nil)
			return err
		}},
	}
	for _, r := range reads {
		for _, readers := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/readers=%d", r.name, readers), func(b *testing.B) {
				var mu sync.Mutex
				lat := make(storetest.Latencies, 0, b.N)
				var next atomic.Int64
				var wg sync.WaitGroup
				for range readers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for next.Add(1) <= int64(b.N) {
							start := time.Now()
							if err := r.read(); err != nil {
								b.Error(err)
								return
							}
							d := time.Since(start)
							mu.Lock()
							lat = append(lat, d)
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				lat.Report(b, "read")
			})
		}
	}
}

// BenchmarkCommitTotals measures what keeping interface_totals adds to a
// commit: two databases filled alike, one of them with the delete trigger
// dropped and the commit's own totals off (Store.totalsOff), take the same
// batches in turn (alternating which goes first), so both see the same
// machine. Each batch is 1,000 sessions from the generator: at 10,000
// clients they fold into stored rows, at 1,000,000 each is a client not
// stored yet. It reports both medians and their ratio.
func BenchmarkCommitTotals(b *testing.B) {
	for _, clients := range []int{benchClients, 1000000} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			ctx := context.Background()
			with, without := openBench(b), openBench(b)
			if _, err := without.w.ExecContext(ctx, "DROP TRIGGER interface_totals_delete"); err != nil {
				b.Fatal(err)
			}
			without.totalsOff = true
			var sess session.Session
			fill := func(s *Store) {
				g := storetest.NewGenerator(clients, 42)
				batch := NewBatch()
				for i := range clients {
					g.Next(&sess)
					sess.ClientIP = storetest.Client(i)
					batch.Add("bench", "eth0", uint64(i+1), &sess)
					if batch.Len() == 50000 || i == clients-1 {
						if _, err := s.Commit(ctx, batch); err != nil {
							b.Fatal(err)
						}
						batch.Reset()
					}
				}
			}
			fill(with)
			fill(without)
			g := storetest.NewGenerator(clients, 43)
			seq := uint64(clients)
			batch := NewBatch()
			on := make(storetest.Latencies, 0, b.N)
			off := make(storetest.Latencies, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				batch.Reset()
				for range 1000 {
					g.Next(&sess)
					seq++
					if clients > benchClients {
						sess.ClientIP = storetest.Client(int(seq))
					}
					batch.Add("bench", "eth0", seq, &sess)
				}
				b.StartTimer()
				for j := range 2 {
					s, lat := with, &on
					if (i+j)%2 == 0 {
						s, lat = without, &off
					}
					start := time.Now()
					if _, err := s.Commit(ctx, batch); err != nil {
						b.Fatal(err)
					}
					*lat = append(*lat, time.Since(start))
				}
			}
			b.StopTimer()
			pOn, pOff := on.Percentile(50), off.Percentile(50)
			b.ReportMetric(float64(pOn)/1e6, "totals-p50-ms")
			b.ReportMetric(float64(pOff)/1e6, "nototals-p50-ms")
			b.ReportMetric(float64(pOn)/float64(pOff), "ratio")
		})
	}
}

// BenchmarkCleanupChunk measures deleting one cleanup chunk (5,000 rows,
// the statement Cleanup runs) from a table of 200,000 clients, with the
// trigger that bumps interface_totals.changes for every deleted row and
// without it, alternately in the same run. It reports the p50 of each and
// their ratio: what the version the statistics' kept counts hang on costs
// a cleanup. Each iteration deletes a chunk from each store; b.N is at
// most 40.
func BenchmarkCleanupChunk(b *testing.B) {
	const clients = 200_000
	ctx := context.Background()
	with, without := openBench(b), openBench(b)
	if _, err := without.w.ExecContext(ctx, "DROP TRIGGER interface_totals_changes"); err != nil {
		b.Fatal(err)
	}
	var sess session.Session
	for _, s := range []*Store{with, without} {
		g := storetest.NewGenerator(clients, 42)
		batch := NewBatch()
		for i := range clients {
			g.Next(&sess)
			sess.ClientIP = storetest.Client(i)
			batch.Add("bench", []string{"eth0", "eth1"}[i%2], uint64(i+1), &sess)
			if batch.Len() == 50000 || i == clients-1 {
				if _, err := s.Commit(ctx, batch); err != nil {
					b.Fatal(err)
				}
				batch.Reset()
			}
		}
	}
	if b.N > clients/cleanupChunk {
		b.Fatalf("-benchtime %dx: at most %d chunks to delete", b.N, clients/cleanupChunk)
	}
	const chunk = "DELETE FROM ntp_clients WHERE id IN (SELECT id FROM ntp_clients ORDER BY id LIMIT ?)"
	on := make(storetest.Latencies, 0, b.N)
	off := make(storetest.Latencies, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		for j := range 2 {
			s, lat := with, &on
			if (i+j)%2 == 0 {
				s, lat = without, &off
			}
			start := time.Now()
			res, err := s.w.ExecContext(ctx, chunk, cleanupChunk)
			if err != nil {
				b.Fatal(err)
			}
			*lat = append(*lat, time.Since(start))
			if n, _ := res.RowsAffected(); n != cleanupChunk {
				b.Fatalf("a chunk deleted %d rows", n)
			}
		}
	}
	b.StopTimer()
	pOn, pOff := on.Percentile(50), off.Percentile(50)
	b.ReportMetric(float64(pOn)/1e6, "trigger-p50-ms")
	b.ReportMetric(float64(pOff)/1e6, "notrigger-p50-ms")
	b.ReportMetric(float64(pOn)/float64(pOff), "ratio")
}
