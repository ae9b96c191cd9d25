package store

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
)

// The per-interface totals that the commits keep are the aggregates of
// the client table, computed afresh from every row: after inserts, after
// upserts that fold sessions into stored rows (a client's version
// changing, its first KoD, its first latency) and after a cleanup that
// deletes rows, including the one that held an extreme.
func TestInterfaceTotalsMatchTable(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	g := storetest.NewGenerator(3000, 5)
	var seq uint64
	var ss session.Session
	for batch := range 6 {
		b := NewBatch()
		for i := range 4000 {
			g.Next(&ss)
			ss.Interface = fmt.Sprintf("eth%d", i%3)
			ss.Timestamp = t0.Add(time.Duration(batch)*time.Hour + time.Duration(i)*time.Millisecond)
			if i%7 == 0 && ss.IsRequest() {
				ss.Version = uint8(1 + (i/7+batch)%4)
			}
			if batch == 0 && ss.Answered && i%11 == 0 {
				// Clients of the first hour only, one of which holds the
				// smallest latency: the cleanup below deletes them.
				ss.ClientIP = netip.AddrFrom4([4]byte{100, 64, byte(i >> 8), byte(i)}) // not among the generator's
				ss.Latency, ss.LatencyValid = 1e-7, true
			}
			seq++
			b.Add("w", ss.Interface, seq, &ss)
		}
		if _, err := s.Commit(ctx, b); err != nil {
			t.Fatal(err)
		}
		check(t, s, fmt.Sprintf("after batch %d", batch))
	}
	// The clients seen only in the first hour go: the totals lose their
	// rows, and the extremes they held.
	n, err := s.Cleanup(ctx, t0.Add(time.Hour), false)
	if err != nil || n == 0 {
		t.Fatalf("cleanup: %d, %v", n, err)
	}
	check(t, s, "after cleanup")
	st, err := s.InterfaceStatistics(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range st {
		if i.Latency.Min.Float64 <= 1e-7 {
			t.Errorf("%s: latency min %v after its clients were deleted", i.Interface, i.Latency.Min.Float64)
		}
	}
	if _, err := s.Cleanup(ctx, t0.Add(24*time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if st, err := s.InterfaceStatistics(ctx, t0); err != nil || len(st) != 0 {
		t.Errorf("after deleting every client: %+v, %v", st, err)
	}
}

// check compares InterfaceStatistics with the aggregates of every row.
func check(t *testing.T, s *Store, when string) {
	t.Helper()
	ctx := context.Background()
	now := t0.Add(5 * time.Hour)
	got, err := s.InterfaceStatistics(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	var rows0 int64
	if err := s.ReadDB().QueryRowContext(ctx, "SELECT count(*) FROM ntp_clients").Scan(&rows0); err != nil {
		t.Fatal(err)
	}
	if dbs, err := s.Stats(ctx); err != nil || dbs.Rows != rows0 {
		t.Errorf("%s: Stats: %d rows, %v; the table has %d", when, dbs.Rows, err, rows0)
	}
	var sb strings.Builder
	sb.WriteString(`SELECT interface_name, count(*), sum(last_seen_timestamp >= ?), sum(last_seen_timestamp >= ?),
		sum(session_count), sum(answered_count), sum(unanswered_count), sum(kod_count), sum(kod_count > 0),
		sum(mode1_count), sum(mode2_count), sum(mode5_count), sum(mode6_count), sum(mode7_count),
		sum(latency_count), sum(latency_count > 0), sum(latency_sum), min(latency_min), max(latency_max),
		sum(answered_count > 0), sum(processing_sum), min(processing_min), max(processing_max),
		sum(total_sum), min(total_min), max(total_max),
		min(first_seen_timestamp), max(last_seen_timestamp), sum(ntp_version IS NULL)`)
	for v := range 8 {
		sb.WriteString(", sum(ntp_version = " + strconv.Itoa(v) + ")")
	}
	sb.WriteString(" FROM ntp_clients GROUP BY interface_name ORDER BY interface_name")
	rows, err := s.ReadDB().QueryContext(ctx, sb.String(), formatTime(now.Add(-time.Hour)), formatTime(now.Add(-24*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for ; rows.Next(); i++ {
		var w InterfaceStats
		var m [5]int64
		var latSum, procSum, totSum float64
		var versions [8]int64
		dest := []any{&w.Interface, &w.Clients, &w.ActiveLastHour, &w.ActiveLastDay,
			&w.Sessions, &w.Answered, &w.Unanswered, &w.KoD, &w.ClientsWithKoD, &m[0], &m[1], &m[2], &m[3], &m[4],
			&w.Latency.Sessions, &w.Latency.Clients, &latSum, &w.Latency.Min, &w.Latency.Max,
			&w.Processing.Clients, &procSum, &w.Processing.Min, &w.Processing.Max,
			&totSum, &w.Total.Min, &w.Total.Max, &w.FirstSeen, &w.LastSeen, &w.ClientsNoVersion}
		for v := range versions {
			dest = append(dest, &versions[v])
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		if i >= len(got) {
			t.Fatalf("%s: %d interfaces in the totals, more in the table", when, len(got))
		}
		g := got[i]
		ints := func(st InterfaceStats) []int64 {
			return []int64{st.Clients, st.ActiveLastHour, st.ActiveLastDay, st.Sessions, st.Answered, st.Unanswered,
				st.KoD, st.ClientsWithKoD, st.Latency.Sessions, st.Latency.Clients, st.Processing.Clients, st.ClientsNoVersion}
		}
		if fmt.Sprint(ints(g)) != fmt.Sprint(ints(w)) || g.Interface != w.Interface || g.FirstSeen != w.FirstSeen || g.LastSeen != w.LastSeen {
			t.Errorf("%s: %s totals %v %s %s, table %v %s %s", when, w.Interface, ints(g), g.FirstSeen, g.LastSeen, ints(w), w.FirstSeen, w.LastSeen)
		}
		if g.OtherModes[1] != m[0] || g.OtherModes[2] != m[1] || g.OtherModes[5] != m[2] || g.OtherModes[6] != m[3] || g.OtherModes[7] != m[4] {
			t.Errorf("%s: %s modes %v, table %v", when, w.Interface, g.OtherModes, m)
		}
		for v, n := range versions {
			if g.Versions[v] != n {
				t.Errorf("%s: %s version %d: %d clients, table %d", when, w.Interface, v, g.Versions[v], n)
			}
		}
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"latency mean", g.Latency.Mean.Float64, latSum / float64(w.Latency.Sessions)},
			{"processing mean", g.Processing.Mean.Float64, procSum / float64(w.Answered)},
			{"total mean", g.Total.Mean.Float64, totSum / float64(w.Answered)},
			{"latency min", g.Latency.Min.Float64, w.Latency.Min.Float64},
			{"latency max", g.Latency.Max.Float64, w.Latency.Max.Float64},
			{"processing min", g.Processing.Min.Float64, w.Processing.Min.Float64},
			{"processing max", g.Processing.Max.Float64, w.Processing.Max.Float64},
			{"total min", g.Total.Min.Float64, w.Total.Min.Float64},
			{"total max", g.Total.Max.Float64, w.Total.Max.Float64},
		} {
			// Sums kept by adding and subtracting rows round differently
			// from a fresh sum, in the last digits.
			if math.Abs(c.got-c.want) > 1e-9*math.Abs(c.want) {
				t.Errorf("%s: %s %s = %v, table %v", when, w.Interface, c.name, c.got, c.want)
			}
		}
	}
	if i != len(got) {
		t.Errorf("%s: %d interfaces in the totals, %d in the table", when, len(got), i)
	}
}
