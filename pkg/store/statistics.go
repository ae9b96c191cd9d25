package store

import (
	"context"
	"database/sql"
	"fmt"
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
// have a mean at or below P50, within loghist.RelativeError (the buckets
// kept of the means, client_means.go). Clients counts the clients that
// have a value.
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
		mk := meansKey{iface: st.Interface, changes: changes[i]}
		cm, err := s.meanPct.get(ctx, mk, func(ctx context.Context) (ClientMeans, error) {
			return s.meansOf(ctx, tx, mk)
		})
		if err != nil {
			return nil, fmt.Errorf("store: interface statistics: client means of %s: %w", st.Interface, err)
		}
		st.Latency.setMeans(cm.Latency)
		st.Processing.setMeans(cm.Processing)
		st.Total.setMeans(cm.Total)
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

// setMeans sets the percentiles of the per-client means, each clamped to
// the sessions' exact min and max, between which every mean lies: a
// bucket's value can only come closer.
func (m *MetricStats) setMeans(p MeanPercentiles) {
	clamp := func(v sql.NullFloat64) sql.NullFloat64 {
		if v.Valid && m.Min.Valid && m.Max.Valid {
			v.Float64 = min(max(v.Float64, m.Min.Float64), m.Max.Float64)
		}
		return v
	}
	m.P50, m.P95 = clamp(p.P50), clamp(p.P95)
}

func mean(sum float64, n int64) sql.NullFloat64 {
	if n <= 0 {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: sum / float64(n), Valid: true}
}
