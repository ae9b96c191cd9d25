package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MetricStats summarises one timing metric over an interface's clients.
//
// Mean is over sessions: the sum of every session's value over their count,
// exact because rows keep sums. Min and Max are over sessions too. P50 and
// P95 are NOT session percentiles — rows keep no per-session values — but
// the nearest-rank percentiles of the per-client means: half of the clients
// have a mean at or below P50. Clients counts the clients that have a value.
type MetricStats struct {
	Sessions int64
	Clients  int64
	Mean     sql.NullFloat64
	Min      sql.NullFloat64
	Max      sql.NullFloat64
	P50      sql.NullFloat64
	P95      sql.NullFloat64
}

// InterfaceStats is the summary of one capture interface.
type InterfaceStats struct {
	Interface        string
	Clients          int64
	ActiveLastHour   int64
	ActiveLastDay    int64
	Sessions         int64
	Answered         int64
	Unanswered       int64
	KoD              int64
	ClientsWithKoD   int64
	OtherModes       map[int]int64 // mode → packets (1, 2, 5, 6, 7)
	Versions         map[int]int64 // NTP version of each client's latest request → clients
	Latency          MetricStats
	Processing       MetricStats
	Total            MetricStats
	FirstSeen        string
	LastSeen         string
	ClientsNoVersion int64 // rows whose latest record carried no version
}

// InterfaceStatistics summarises every interface in two sequential passes
// over the table: one aggregate, one collecting per-client means for the
// percentiles (held in memory while they are sorted: 24 bytes per client). now sets the "active in
// the last hour/day" windows.
func (s *Store) InterfaceStatistics(ctx context.Context, now time.Time) ([]InterfaceStats, error) {
	hour := formatTime(now.Add(-time.Hour))
	day := formatTime(now.Add(-24 * time.Hour))
	db := s.ReadDB()
	var sb strings.Builder
	sb.WriteString(`SELECT interface_name, count(*),
		sum(last_seen_timestamp >= ?), sum(last_seen_timestamp >= ?),
		sum(session_count), sum(answered_count), sum(unanswered_count), sum(kod_count), sum(kod_count > 0),
		sum(mode1_count), sum(mode2_count), sum(mode5_count), sum(mode6_count), sum(mode7_count),
		sum(latency_count), sum(latency_count > 0), sum(latency_sum), min(latency_min), max(latency_max),
		sum(answered_count > 0), sum(processing_sum), min(processing_min), max(processing_max),
		sum(total_sum), min(total_min), max(total_max),
		min(first_seen_timestamp), max(last_seen_timestamp), sum(ntp_version IS NULL)`)
	for v := 0; v < 8; v++ {
		sb.WriteString(", sum(ntp_version = " + strconv.Itoa(v) + ")")
	}
	// NOT INDEXED: one sequential pass over the table and a sort of the
	// groups beats walking the interface index, which visits the rows in
	// random order (measured 1.6 s against 2.9 s for 1,000,000 rows).
	sb.WriteString(" FROM ntp_clients NOT INDEXED GROUP BY interface_name ORDER BY interface_name")
	rows, err := db.QueryContext(ctx, sb.String(), hour, day)
	if err != nil {
		return nil, fmt.Errorf("store: interface statistics: %w", err)
	}
	defer rows.Close()
	var out []InterfaceStats
	for rows.Next() {
		var st InterfaceStats
		var m1, m2, m5, m6, m7 int64
		var latSum, procSum, totSum float64
		var versions [8]int64
		dest := []any{&st.Interface, &st.Clients, &st.ActiveLastHour, &st.ActiveLastDay,
			&st.Sessions, &st.Answered, &st.Unanswered, &st.KoD, &st.ClientsWithKoD,
			&m1, &m2, &m5, &m6, &m7,
			&st.Latency.Sessions, &st.Latency.Clients, &latSum, &st.Latency.Min, &st.Latency.Max,
			&st.Processing.Clients, &procSum, &st.Processing.Min, &st.Processing.Max,
			&totSum, &st.Total.Min, &st.Total.Max,
			&st.FirstSeen, &st.LastSeen, &st.ClientsNoVersion}
		for i := range versions {
			dest = append(dest, &versions[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: interface statistics: %w", err)
		}
		st.OtherModes = map[int]int64{1: m1, 2: m2, 5: m5, 6: m6, 7: m7}
		st.Versions = make(map[int]int64)
		for v, n := range versions {
			if n > 0 {
				st.Versions[v] = n
			}
		}
		st.Processing.Sessions = st.Answered
		st.Total.Sessions = st.Answered
		st.Total.Clients = st.Processing.Clients
		st.Latency.Mean = mean(latSum, st.Latency.Sessions)
		st.Processing.Mean = mean(procSum, st.Answered)
		st.Total.Mean = mean(totSum, st.Answered)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: interface statistics: %w", err)
	}
	rows.Close()

	// The first pass counted the values each interface will have: sized
	// up front, the slices never grow (and leave no garbage behind).
	means := make(map[string]*metricMeans, len(out))
	for _, st := range out {
		means[st.Interface] = &metricMeans{
			lat:  make([]float64, 0, st.Latency.Clients),
			proc: make([]float64, 0, st.Processing.Clients),
			tot:  make([]float64, 0, st.Total.Clients),
		}
	}
	if err := s.clientMeans(ctx, means); err != nil {
		return nil, err
	}
	for i := range out {
		if m := means[out[i].Interface]; m != nil {
			setPercentiles(&out[i].Latency, m.lat)
			setPercentiles(&out[i].Processing, m.proc)
			setPercentiles(&out[i].Total, m.tot)
		}
	}
	return out, nil
}

type metricMeans struct{ lat, proc, tot []float64 }

// clientMeans appends the per-client mean of each metric to out, per
// interface, in one sequential pass over the table.
func (s *Store) clientMeans(ctx context.Context, out map[string]*metricMeans) error {
	rows, err := s.ReadDB().QueryContext(ctx, `SELECT interface_name, latency_sum, latency_count, processing_sum, total_sum, answered_count
		FROM ntp_clients NOT INDEXED WHERE answered_count > 0`)
	if err != nil {
		return fmt.Errorf("store: client means: %w", err)
	}
	defer rows.Close()
	var iface sql.RawBytes
	var ls, ps, ts float64
	var lc, ac int64
	for rows.Next() {
		if err := rows.Scan(&iface, &ls, &lc, &ps, &ts, &ac); err != nil {
			return fmt.Errorf("store: client means: %w", err)
		}
		m := out[string(iface)]
		if m == nil {
			m = &metricMeans{}
			out[string(iface)] = m
		}
		if lc > 0 {
			m.lat = append(m.lat, ls/float64(lc))
		}
		m.proc = append(m.proc, ps/float64(ac))
		m.tot = append(m.tot, ts/float64(ac))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: client means: %w", err)
	}
	return nil
}

func mean(sum float64, n int64) sql.NullFloat64 {
	if n <= 0 {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: sum / float64(n), Valid: true}
}

// setPercentiles sorts v and stores its nearest-rank p50 and p95.
func setPercentiles(m *MetricStats, v []float64) {
	if len(v) == 0 {
		return
	}
	slices.Sort(v)
	m.P50 = sql.NullFloat64{Float64: nearestRank(v, 0.50), Valid: true}
	m.P95 = sql.NullFloat64{Float64: nearestRank(v, 0.95), Valid: true}
}

// nearestRank is the smallest value with at least p of the values at or
// below it; v is sorted and not empty.
func nearestRank(v []float64, p float64) float64 {
	k := int(math.Ceil(p*float64(len(v)))) - 1
	return v[max(0, min(k, len(v)-1))]
}
