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
// InterfaceStatistics leaves P50 and P95 unset: they need every client's
// row, and come from ClientMeanPercentiles.
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

// InterfaceStatistics summarises every interface that has clients, in name
// order, from interface_totals (one row per interface, kept by the
// commit's own transaction) and, for the clients active in the last hour
// and day before now, the per-minute counts each commit keeps moving
// (activity.go): it reads no client row, so a client stored is in the
// figures at once and the cost does not grow with the table.
func (s *Store) InterfaceStatistics(ctx context.Context, now time.Time) ([]InterfaceStats, error) {
	db := s.ReadDB()
	// One read transaction: the totals and the active counts are of the
	// same commits.
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("store: interface statistics: %w", err)
	}
	defer tx.Rollback()
	var sb strings.Builder
	sb.WriteString(`SELECT interface_name, clients, sessions, answered, unanswered, kod, clients_with_kod,
		mode1, mode2, mode5, mode6, mode7,
		latency_count, latency_clients, latency_sum, latency_min, latency_max,
		answered_clients, processing_sum, processing_min, processing_max,
		total_sum, total_min, total_max, first_seen, last_seen, no_version, changes`)
	for v := 0; v < 8; v++ {
		sb.WriteString(", version" + strconv.Itoa(v))
	}
	sb.WriteString(" FROM interface_totals WHERE clients > 0 ORDER BY interface_name")
	rows, err := tx.QueryContext(ctx, sb.String())
	if err != nil {
		return nil, fmt.Errorf("store: interface statistics: %w", err)
	}
	defer rows.Close()
	var out []InterfaceStats
	var changes []int64
	for rows.Next() {
		var st InterfaceStats
		var m1, m2, m5, m6, m7 int64
		var latSum, procSum, totSum float64
		var first, last sql.NullString
		var versions [8]int64
		var ch int64
		dest := []any{&st.Interface, &st.Clients, &st.Sessions, &st.Answered, &st.Unanswered, &st.KoD, &st.ClientsWithKoD,
			&m1, &m2, &m5, &m6, &m7,
			&st.Latency.Sessions, &st.Latency.Clients, &latSum, &st.Latency.Min, &st.Latency.Max,
			&st.Processing.Clients, &procSum, &st.Processing.Min, &st.Processing.Max,
			&totSum, &st.Total.Min, &st.Total.Max,
			&first, &last, &st.ClientsNoVersion, &ch}
		for i := range versions {
			dest = append(dest, &versions[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: interface statistics: %w", err)
		}
		st.FirstSeen, st.LastSeen = first.String, last.String
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
		changes = append(changes, ch)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: interface statistics: %w", err)
	}
	rows.Close()
	// Counted as of the whole second, so that the requests of one second
	// share one count per interface until a commit changes its rows.
	at := now.Truncate(time.Second).Unix()
	for i := range out {
		st := &out[i]
		key := activeKey{iface: st.Interface, changes: changes[i], at: at}
		n, err := s.active.get(ctx, key, func(ctx context.Context) (activeCounts, error) {
			return s.activeOf(ctx, tx, key)
		})
		if err != nil {
			return nil, fmt.Errorf("store: interface statistics: active clients of %s: %w", st.Interface, err)
		}
		st.ActiveLastHour, st.ActiveLastDay = n.hour, n.day
	}
	return out, nil
}

// activeKept bounds the activity counts kept: an interface's of a few
// seconds, for up to 64 interfaces.
const activeKept = 256

// activeKey names the activity counts of one interface: as of its
// interface_totals.changes, at a Unix second.
type activeKey struct {
	iface   string
	changes int64
	at      int64
}

// activeCounts are the clients of an interface seen in the hour and in the
// day before a time.
type activeCounts struct{ hour, day int64 }

// ClientMeans are the nearest-rank p50 and p95 of one interface's
// per-client means (see MetricStats).
type ClientMeans struct {
	Latency, Processing, Total struct{ P50, P95 sql.NullFloat64 }
}

// ClientMeanPercentiles reads every client row once, sequentially, for the
// percentiles of the per-client means per interface: the one statistic
// that no total can keep. It holds 24 bytes per client while they are
// sorted. Its cost grows with the table (about 1.5 s for 1,000,000 rows),
// so callers compute it in the background and say how old it is.
func (s *Store) ClientMeanPercentiles(ctx context.Context) (map[string]ClientMeans, error) {
	means := make(map[string]*metricMeans)
	if err := s.clientMeans(ctx, means); err != nil {
		return nil, err
	}
	out := make(map[string]ClientMeans, len(means))
	for iface, m := range means {
		var cm ClientMeans
		cm.Latency.P50, cm.Latency.P95 = percentiles(m.lat)
		cm.Processing.P50, cm.Processing.P95 = percentiles(m.proc)
		cm.Total.P50, cm.Total.P95 = percentiles(m.tot)
		out[iface] = cm
	}
	return out, nil
}

// ClientSet identifies the set of clients the client-mean percentiles are
// of: the interfaces and their client counts, from interface_totals. A
// commit that adds clients or an interface, or a cleanup that deletes
// some, changes it.
func (s *Store) ClientSet(ctx context.Context) (string, error) {
	rows, err := s.ReadDB().QueryContext(ctx, "SELECT interface_name, clients FROM interface_totals WHERE clients > 0 ORDER BY interface_name")
	if err != nil {
		return "", fmt.Errorf("store: client set: %w", err)
	}
	defer rows.Close()
	var sb strings.Builder
	for rows.Next() {
		var iface string
		var n int64
		if err := rows.Scan(&iface, &n); err != nil {
			return "", fmt.Errorf("store: client set: %w", err)
		}
		sb.WriteString(strconv.Quote(iface))
		sb.WriteString("=")
		sb.WriteString(strconv.FormatInt(n, 10))
		sb.WriteString(";")
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("store: client set: %w", err)
	}
	return sb.String(), nil
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

// percentiles sorts v and returns its nearest-rank p50 and p95.
func percentiles(v []float64) (p50, p95 sql.NullFloat64) {
	if len(v) == 0 {
		return
	}
	slices.Sort(v)
	return sql.NullFloat64{Float64: nearestRank(v, 0.50), Valid: true}, sql.NullFloat64{Float64: nearestRank(v, 0.95), Valid: true}
}

// nearestRank is the smallest value with at least p of the values at or
// below it; v is sorted and not empty.
func nearestRank(v []float64, p float64) float64 {
	k := int(math.Ceil(p*float64(len(v)))) - 1
	return v[max(0, min(k, len(v)-1))]
}
