package store

import (
	"context"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/loghist"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// testClock is a clock the test moves; the store reads it through
// Store.clock.read.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *testClock) read() time.Time     { return time.Unix(0, c.ns.Load()) }
func (c *testClock) on(s *Store) *Store  { s.clock.read = c.read; return s }
func unixMinute(t time.Time) int64       { return t.Unix() / 60 * 60 }
func at(min float64) float64             { return min * 60 }
func (c *testClock) add(d time.Duration) { c.set(c.read().Add(d)) }

// directTotals merges [from, to) straight from the tables, without the
// memo: what SeriesTotals must always equal.
func directTotals(t *testing.T, s *Store, from, to time.Time) map[string]*SeriesBucket {
	t.Helper()
	m, err := s.mergeSpans(context.Background(), unixMinute(from), unixMinute(to.Add(time.Minute-1)), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sameTotals fails unless got and want hold the same buckets: every
// count and the clients' sketch as the rows they would be stored as, and
// the histograms bucket by bucket (their sums to the last few bits: added
// in another order, floats round differently).
func sameTotals(t *testing.T, what string, got, want map[string]*SeriesBucket) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d interfaces, want %d", what, len(got), len(want))
	}
	for iface, w := range want {
		g := got[iface]
		if g == nil {
			t.Fatalf("%s: no %s", what, iface)
		}
		gh := []*loghist.Histogram{&g.Processing, &g.Wire, &g.Latency}
		for i, wh := range []*loghist.Histogram{&w.Processing, &w.Wire, &w.Latency} {
			if d := histogramDiff(gh[i], wh); d != "" {
				t.Fatalf("%s: %s: histogram %d: %s", what, iface, i, d)
			}
		}
		gc, wc := *g, *w
		gc.Processing, gc.Wire, gc.Latency = loghist.Histogram{}, loghist.Histogram{}, loghist.Histogram{}
		wc.Processing, wc.Wire, wc.Latency = loghist.Histogram{}, loghist.Histogram{}, loghist.Histogram{}
		gv, err := gc.RowValues()
		if err != nil {
			t.Fatal(err)
		}
		wv, err := wc.RowValues()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gv, wv) {
			t.Fatalf("%s: %s: requests %d, clients %d; want requests %d, clients %d (or another count or the sketch differs)",
				what, iface, g.Requests, g.Clients.Count(), w.Requests, w.Clients.Count())
		}
	}
}

// histogramDiff says how g differs from w, or "".
func histogramDiff(g, w *loghist.Histogram) string {
	gmin, _ := g.Min()
	gmax, _ := g.Max()
	wmin, _ := w.Min()
	wmax, _ := w.Max()
	switch {
	case g.Count() != w.Count() || g.ZeroCount() != w.ZeroCount():
		return fmt.Sprintf("count %d (zero %d), want %d (zero %d)", g.Count(), g.ZeroCount(), w.Count(), w.ZeroCount())
	case gmin != wmin || gmax != wmax:
		return fmt.Sprintf("min, max %g, %g, want %g, %g", gmin, gmax, wmin, wmax)
	case math.Abs(g.Sum()-w.Sum()) > 1e-12*math.Abs(w.Sum()):
		return fmt.Sprintf("sum %g, want %g", g.Sum(), w.Sum())
	case !maps.Equal(maps.Collect(g.PositiveBuckets()), maps.Collect(w.PositiveBuckets())) ||
		!maps.Equal(maps.Collect(g.NegativeBuckets()), maps.Collect(w.NegativeBuckets())):
		return "the buckets differ"
	}
	return ""
}

func totals(t *testing.T, s *Store, from, to time.Time) map[string]*SeriesBucket {
	t.Helper()
	m, _ := coveredTotals(t, s, from, to)
	return m
}

// coveredTotals is SeriesTotals with the range it read.
func coveredTotals(t *testing.T, s *Store, from, to time.Time) (map[string]*SeriesBucket, SeriesRange) {
	t.Helper()
	m, covered, err := s.SeriesTotals(context.Background(), from, to, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m, covered
}

func settledWritesOf(t *testing.T, s *Store) int64 {
	t.Helper()
	var n int64
	if err := s.ReadDB().QueryRow("SELECT settled_writes FROM series_info WHERE id = 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The settled part of a range is merged once and kept, and what is kept
// is never stale: a late session, a cleanup and a write by another Store
// on the same file each show in the next read, and a session of the
// current minute shows without touching the kept merge. Every read is
// held against a merge straight from the tables and against a tally of
// what was sent.
func TestSettledTotalsStayTrue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "memo.db")
	var clk testClock
	clk.set(t0.Add(time.Hour)) // 11:00
	s := clk.on(openAt(t, path, quiet(t, Options{})))

	// 10:00–10:49, two clients a minute on eth0, one on eth1.
	var ss []session.Session
	for m := range 50 {
		ss = append(ss,
			sess(fmt.Sprintf("198.51.100.%d", m), at(float64(m)), answered(0.001, 0.0001*float64(m+1), 0.0002)),
			sess(fmt.Sprintf("203.0.113.%d", m), at(float64(m)+0.5)),
			sess(fmt.Sprintf("192.0.2.%d", m), at(float64(m)), iface("eth1")))
	}
	commitAll(t, s, "w", 1, ss...)
	seq := uint64(len(ss) + 1)
	sent := map[string]int64{"eth0": 100, "eth1": 50}

	from, to := t0.Add(-time.Hour), t0.Add(time.Hour) // whole hours: read from series_hour
	ragged := t0.Add(15 * time.Minute)                // 10:15–11:00: minutes only
	check := func(step string) {
		t.Helper()
		for _, r := range [][2]time.Time{{from, to}, {ragged, to}} {
			// After a cleanup of minutes, the ragged range is read from
			// its whole first hour (SeriesTotals).
			got, covered := coveredTotals(t, s, r[0], r[1])
			sameTotals(t, step, got, directTotals(t, s, covered.From, covered.To))
			if r[0] == from {
				for iface, n := range sent {
					if got[iface].Requests != n {
						t.Fatalf("%s: %s: %d requests, sent %d", step, iface, got[iface].Requests, n)
					}
				}
			}
		}
	}

	check("first read")
	writes := settledWritesOf(t, s)
	if n := s.settled.len(); n != 2 {
		t.Fatalf("after the first reads the memo holds %d merges, want 2 (one per range)", n)
	}
	before := maps.Clone(s.settled.entries)
	check("second read")
	if !maps.Equal(before, s.settled.entries) {
		t.Fatalf("the second read merged again with no write in between")
	}

	// A session of the current minute is not late: the kept merges stay,
	// the read has it.
	commitAll(t, s, "w", seq, sess("198.51.100.200", at(59.5)))
	seq++
	sent["eth0"]++
	if n := settledWritesOf(t, s); n != writes {
		t.Fatalf("a session of the current minute counted as a write into the settled series (%d → %d)", writes, n)
	}
	check("current minute")

	// A late session (10:20, a new client) is in the next read.
	commitAll(t, s, "w", seq, sess("198.51.100.201", at(20)))
	seq++
	sent["eth0"]++
	if n := settledWritesOf(t, s); n != writes+1 {
		t.Fatalf("a session 40 minutes late: settled writes %d → %d, want one more", writes, n)
	}
	check("late session")

	// Another Store on the file writes late: this one sees it.
	other := openAt(t, path, quiet(t, Options{}))
	commitAll(t, other, "w2", 1, sess("192.0.2.200", at(30), iface("eth1")))
	sent["eth1"]++
	check("late session by another store")

	// Time moves on: the cut moves with it.
	clk.add(5 * time.Minute)
	check("five minutes later")

	// A cleanup of minutes is in the next read of the ragged range.
	if n, err := s.DeleteSeriesBefore(context.Background(), MinuteStep, t0.Add(30*time.Minute)); err != nil || n == 0 {
		t.Fatalf("DeleteSeriesBefore: %d, %v", n, err)
	}
	check("after a cleanup")

	// The host clock stepped back 25 minutes: the store's stays at 11:05,
	// so a session of 10:39 (current by the stepped clock) is late.
	clk.add(-25 * time.Minute)
	w := settledWritesOf(t, s)
	commitAll(t, s, "w", seq, sess("198.51.100.202", at(39)))
	sent["eth0"]++
	if n := settledWritesOf(t, s); n != w+1 {
		t.Fatalf("after the clock stepped back, a session 26 minutes before the latest time seen was not counted late")
	}
	check("clock stepped back")
}

// Concurrent readers of one range share one merge, and all of them read
// what the tables hold (run with -race).
func TestSettledTotalsConcurrent(t *testing.T) {
	var clk testClock
	clk.set(t0.Add(2 * time.Hour))
	s := clk.on(openTest(t, Options{}))
	var ss []session.Session
	for m := range 90 {
		ss = append(ss, sess(fmt.Sprintf("198.51.100.%d", m), at(float64(m)), answered(0.001, 0.0002, 0.0003)))
	}
	commitAll(t, s, "w", 1, ss...)
	from, to := t0.Add(10*time.Minute), t0.Add(2*time.Hour)
	want := directTotals(t, s, from, to)
	var wg sync.WaitGroup
	got := make([]map[string]*SeriesBucket, 16)
	errs := make([]error, len(got))
	for i := range got {
		wg.Go(func() { got[i], _, errs[i] = s.SeriesTotals(context.Background(), from, to, nil) })
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		sameTotals(t, fmt.Sprintf("reader %d", i), got[i], want)
	}
	if n := s.settled.len(); n != 1 {
		t.Errorf("16 readers of one range left %d merges, want 1", n)
	}
	// The callers' buckets are their own: changing one changes no other
	// read.
	got[0]["eth0"].Requests = -1
	sameTotals(t, "after a caller changed its copy", totals(t, s, from, to), want)
}

// The store's clock never goes back.
func TestClockNeverBack(t *testing.T) {
	var src testClock
	c := clock{read: src.read}
	src.set(t0)
	if got := c.now(); !got.Equal(t0) {
		t.Fatalf("now %v, want %v", got, t0)
	}
	src.set(t0.Add(-time.Hour))
	if got := c.now(); !got.Equal(t0) {
		t.Fatalf("after the source stepped back an hour: now %v, want %v", got, t0)
	}
	src.set(t0.Add(time.Second))
	if got := c.now(); !got.Equal(t0.Add(time.Second)) {
		t.Fatalf("after the source passed it: now %v, want %v", got, t0.Add(time.Second))
	}
}

// The minutes after the settled cut are merged once per commit and kept
// until the next: a second read with no write in between merges nothing,
// and each write shows in the next read: a commit of this Store, one by
// another Store on the file, one by a Store that keeps no totals in its
// own reads, and a late one by such a Store in this Store's. Each is seen
// by one part of the key alone.
func TestRecentTotalsFollowWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "recent.db")
	var clk testClock
	clk.set(t0.Add(50 * time.Minute)) // 10:50
	s := clk.on(openAt(t, path, quiet(t, Options{})))
	var ss []session.Session
	for m := range 50 {
		ss = append(ss, sess(fmt.Sprintf("198.51.100.%d", m), at(float64(m)), answered(0.001, 0.0001, 0.0002)))
	}
	commitAll(t, s, "w", 1, ss...)
	from, to := t0.Add(40*time.Minute), t0.Add(51*time.Minute) // settled to 10:47, recent after
	sent := int64(10)
	check := func(step string) {
		t.Helper()
		got := totals(t, s, from, to)
		sameTotals(t, step, got, directTotals(t, s, from, to))
		if got["eth0"].Requests != sent {
			t.Fatalf("%s: %d requests, want %d", step, got["eth0"].Requests, sent)
		}
	}
	check("first read")
	before := maps.Clone(s.recent.entries)
	check("second read")
	if len(before) != 1 || !maps.Equal(before, s.recent.entries) {
		t.Fatalf("the second read merged the recent minutes again with no write in between (%d kept before)", len(before))
	}

	commitAll(t, s, "w", 100, sess("198.51.100.200", at(49.5)))
	sent++
	check("a commit of this store")

	other := clk.on(openAt(t, path, quiet(t, Options{})))
	commitAll(t, other, "w2", 1, sess("198.51.100.201", at(49.6)))
	sent++
	check("a commit of another store on the file")

	// A store that keeps no totals raises no version in the file: only its
	// own count of commits tells its reads of them.
	bare := clk.on(openAt(t, path, quiet(t, Options{})))
	bare.totalsOff = true
	if got := totals(t, bare, from, to); got["eth0"].Requests != sent {
		t.Fatalf("a store that keeps no totals: %d requests, want %d", got["eth0"].Requests, sent)
	}
	commitAll(t, bare, "w3", 1, sess("198.51.100.202", at(49.7)))
	sent++
	if got := totals(t, bare, from, to); got["eth0"].Requests != sent {
		t.Fatalf("a store that keeps no totals: %d requests after its commit, want %d", got["eth0"].Requests, sent)
	}

	// A store that keeps no totals and whose clock is the host's, for which
	// 10:49 is long past: its write is a write into the settled past,
	// which is all this store can see of it.
	late := openAt(t, path, quiet(t, Options{}))
	late.totalsOff = true
	commitAll(t, late, "w4", 1, sess("198.51.100.203", at(49.8)))
	sent++
	check("a late write of a store that keeps no totals")
}
