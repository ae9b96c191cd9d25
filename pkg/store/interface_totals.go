package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// refreshExtremes recomputes the extremes (min and max of each timing,
// first and last seen) of the interfaces whose totals a delete marked
// stale: a deleted row may have held one, and a minimum cannot be taken
// back. It reads those interfaces' rows in one pass, in one transaction
// on the writer, so no commit moves them in between; Cleanup runs it after
// it deleted something, which is rare next to commits.
func (s *Store) refreshExtremes(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("refresh interface extremes", err)
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `UPDATE interface_totals SET
			latency_min = a.latency_min, latency_max = a.latency_max,
			processing_min = a.processing_min, processing_max = a.processing_max,
			total_min = a.total_min, total_max = a.total_max,
			first_seen = a.first_seen, last_seen = a.last_seen, extremes_stale = 0
		FROM (SELECT t.interface_name,
				min(c.latency_min) AS latency_min, max(c.latency_max) AS latency_max,
				min(c.processing_min) AS processing_min, max(c.processing_max) AS processing_max,
				min(c.total_min) AS total_min, max(c.total_max) AS total_max,
				min(c.first_seen_timestamp) AS first_seen, max(c.last_seen_timestamp) AS last_seen
			FROM interface_totals t LEFT JOIN ntp_clients c ON c.interface_name = t.interface_name
			WHERE t.extremes_stale GROUP BY t.interface_name) AS a
		WHERE interface_totals.interface_name = a.interface_name`)
	if err != nil {
		return s.wrap("refresh interface extremes", err)
	}
	if err := tx.Commit(); err != nil {
		return s.wrap("refresh interface extremes", err)
	}
	return nil
}

// afterClientDelete is what a deletion of client rows owes the totals.
func (s *Store) afterClientDelete(ctx context.Context, deleted int64, err error) (int64, error) {
	if deleted == 0 {
		return deleted, err
	}
	if rerr := s.refreshExtremes(ctx); rerr != nil {
		if err != nil {
			return deleted, fmt.Errorf("%w; %w", err, rerr)
		}
		return deleted, rerr
	}
	return deleted, err
}

// argIndex is the index in insertColumns of the column named name: where
// a commit finds the value its upsert binds for it, so that the totals move
// exactly as the rows do. Resolved once, at start, for the columns below.
func argIndex(name string) int {
	for i, c := range insertColumns {
		if c.Name == name {
			return i
		}
	}
	panic("store: interface totals: no insert column " + name)
}

// totalsColumn is a column of interface_totals fed from a client row's
// column: arg is that column's index in the upsert's arguments.
type totalsColumn struct {
	total string
	arg   int
}

func fed(row, total string) totalsColumn { return totalsColumn{total: total, arg: argIndex(row)} }

// totalsSums are the summed integer columns, in the order of
// totalsDelta.sums; totalsFloatSums the summed floats.
var (
	totalsSums = []totalsColumn{
		fed("session_count", "sessions"), fed("answered_count", "answered"), fed("unanswered_count", "unanswered"),
		fed("kod_count", "kod"), fed("mode1_count", "mode1"), fed("mode2_count", "mode2"), fed("mode5_count", "mode5"),
		fed("mode6_count", "mode6"), fed("mode7_count", "mode7"), fed("latency_count", "latency_count"),
	}
	totalsFloatSums = []totalsColumn{
		fed("latency_sum", "latency_sum"), fed("processing_sum", "processing_sum"), fed("total_sum", "total_sum"),
	}
)

// totalsExtreme is a column that only moves outwards: the least or the
// greatest of the stored value and the batch's.
type totalsExtreme struct {
	totalsColumn
	least bool
}

var totalsExtremes = []totalsExtreme{
	{fed("latency_min", "latency_min"), true}, {fed("latency_max", "latency_max"), false},
	{fed("processing_min", "processing_min"), true}, {fed("processing_max", "processing_max"), false},
	{fed("total_min", "total_min"), true}, {fed("total_max", "total_max"), false},
	{fed("first_seen_timestamp", "first_seen"), true}, {fed("last_seen_timestamp", "last_seen"), false},
}

// The arguments of the client columns that say how an upsert changes the
// counts of clients by a property.
var (
	argKoD, argLatency, argAnswered = argIndex("kod_count"), argIndex("latency_count"), argIndex("answered_count")
	argVersion, argSessionTime      = argIndex("ntp_version"), argIndex("session_timestamp")
)

// totalsDelta is what one commit adds to an interface's totals.
type totalsDelta struct {
	clients, withKoD, latClients, ansClients, noVersion int64
	versions                                            [8]int64
	sums                                                [10]int64
	floats                                              [3]float64
	extremes                                            [8]any // nil: none yet
}

// storedProps are what a commit needs of a stored row to see how an
// upsert changes the counts of clients by a property: with a KoD, with a
// latency, answered, by latest version. stored is false for a row the
// table does not hold yet.
type storedProps struct {
	stored        bool
	kod, lat, ans int64
	version       sql.NullInt64
	sessionTime   sql.NullString
	lastSeen      string // the activity minutes' (activity.go)
	// The sums of the per-client means (client_means.go).
	latSum, procSum, totSum float64
}

// readStoredProps reads storedProps of the batch's rows, one query per
// interface over the (client_ip, interface_name) index; the result is
// indexed like rows. Reading them costs a commit a few percent
// (BenchmarkCommitTotals); a trigger on every updated row cost it half
// again.
func readStoredProps(ctx context.Context, tx *sql.Tx, rows []row) ([]storedProps, error) {
	byIface := make(map[string]map[string]int) // address as bound → index in rows
	for i := range rows {
		k := rows[i].key
		m := byIface[k.iface]
		if m == nil {
			m = make(map[string]int)
			byIface[k.iface] = m
		}
		m[k.ip.String()] = i
	}
	out := make([]storedProps, len(rows))
	for iface, idx := range byIface {
		ips := make([]string, 0, len(idx))
		for ip := range idx {
			ips = append(ips, ip)
		}
		j, err := json.Marshal(ips)
		if err != nil {
			return nil, err
		}
		q, err := tx.QueryContext(ctx, `SELECT client_ip, kod_count, latency_count, answered_count, ntp_version, session_timestamp, last_seen_timestamp,
			latency_sum, processing_sum, total_sum FROM ntp_clients WHERE interface_name = ? AND client_ip IN (SELECT value FROM json_each(?))`, iface, string(j))
		if err != nil {
			return nil, err
		}
		for q.Next() {
			var ip string
			var p storedProps
			if err := q.Scan(&ip, &p.kod, &p.lat, &p.ans, &p.version, &p.sessionTime, &p.lastSeen,
				&p.latSum, &p.procSum, &p.totSum); err != nil {
				q.Close()
				return nil, err
			}
			if i, ok := idx[ip]; ok {
				p.stored = true
				out[i] = p
			}
		}
		if err := q.Close(); err != nil {
			return nil, err
		}
		if err := q.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// add counts one upserted row: args are its bound values, old the stored
// row's properties (nil: the upsert inserted it).
func (d *totalsDelta) add(args []any, old *storedProps) {
	for i, c := range totalsSums {
		d.sums[i] += args[c.arg].(int64)
	}
	for i, c := range totalsFloatSums {
		d.floats[i] += args[c.arg].(float64)
	}
	for i, c := range totalsExtremes {
		v := args[c.arg]
		if v == nil {
			continue
		}
		if d.extremes[i] == nil || outwards(v, d.extremes[i], c.least) {
			d.extremes[i] = v
		}
	}
	var was storedProps
	if old == nil {
		d.clients++
	} else {
		was = *old
	}
	// The three counts only add up, so the row's new value is the stored
	// one plus the batch's: a client has the property once either is
	// non-zero.
	d.withKoD += clientsWith(was.kod, args[argKoD].(int64), old != nil)
	d.latClients += clientsWith(was.lat, args[argLatency].(int64), old != nil)
	d.ansClients += clientsWith(was.ans, args[argAnswered].(int64), old != nil)
	// The version is the newest session's, as the upsert's fold takes it
	// (newest in columns.go): the batch row's unless the stored session
	// is newer.
	version := args[argVersion]
	if old != nil {
		bt, _ := args[argSessionTime].(string)
		if args[argSessionTime] == nil || bt < was.sessionTime.String {
			version = nil
			if was.version.Valid {
				version = was.version.Int64
			}
		}
		d.countVersion(was.version, -1)
	}
	v, ok := version.(int64)
	d.countVersion(sql.NullInt64{Int64: v, Valid: ok}, 1)
}

func (d *totalsDelta) countVersion(v sql.NullInt64, n int64) {
	switch {
	case !v.Valid:
		d.noVersion += n
	case v.Int64 >= 0 && v.Int64 < int64(len(d.versions)):
		d.versions[v.Int64] += n
	}
}

// clientsWith is how a row's upsert changes the number of clients with a
// count above zero: stored is the stored row's count (stored: the row was
// there), batch what the batch adds.
func clientsWith(stored, batch int64, wasStored bool) int64 {
	return b2i(stored+batch > 0) - b2i(wasStored && stored > 0)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// outwards reports whether v lies beyond cur: below it for a least, above
// it for a greatest. Both are float64 or both string.
func outwards(v, cur any, least bool) bool {
	switch v := v.(type) {
	case float64:
		return least && v < cur.(float64) || !least && v > cur.(float64)
	case string:
		return least && v < cur.(string) || !least && v > cur.(string)
	}
	return false
}

// totalsUpsertSQL adds a totalsDelta to an interface's row, creating it
// for a new interface.
var totalsUpsertSQL = func() string {
	// changes counts the commits (and deleted rows) that touched the
	// interface's client rows: the version its activity counts are kept
	// by (statistics.go).
	cols := []string{"interface_name", "changes", "clients", "clients_with_kod", "latency_clients", "answered_clients", "no_version"}
	var set []string
	for _, c := range cols[1:] {
		set = append(set, c+" = "+c+" + excluded."+c)
	}
	for v := range 8 {
		c := "version" + strconv.Itoa(v)
		cols = append(cols, c)
		set = append(set, c+" = "+c+" + excluded."+c)
	}
	for _, c := range totalsSums {
		cols = append(cols, c.total)
		set = append(set, c.total+" = "+c.total+" + excluded."+c.total)
	}
	for _, c := range totalsFloatSums {
		cols = append(cols, c.total)
		set = append(set, c.total+" = "+c.total+" + excluded."+c.total)
	}
	for _, c := range totalsExtremes {
		cols = append(cols, c.total)
		f := "max"
		if c.least {
			f = "min"
		}
		// SQLite's two-argument min and max are NULL when either side
		// is: coalesce keeps whichever side has a value.
		set = append(set, fmt.Sprintf("%[1]s = coalesce(%[2]s(%[1]s, excluded.%[1]s), %[1]s, excluded.%[1]s)", c.total, f))
	}
	return "INSERT INTO interface_totals (" + strings.Join(cols, ", ") + ") VALUES (" + placeholders(len(cols)) +
		")\nON CONFLICT (interface_name) DO UPDATE SET " + strings.Join(set, ", ") + " RETURNING changes"
}()

// commitTotals writes the commit's deltas inside tx and returns each
// interface's changes after them.
func commitTotals(ctx context.Context, tx *sql.Tx, deltas map[string]*totalsDelta) (map[string]int64, error) {
	if len(deltas) == 0 {
		return nil, nil
	}
	st, err := tx.PrepareContext(ctx, totalsUpsertSQL)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	after := make(map[string]int64, len(deltas))
	for iface, d := range deltas {
		args := []any{iface, 1, d.clients, d.withKoD, d.latClients, d.ansClients, d.noVersion}
		for _, n := range d.versions {
			args = append(args, n)
		}
		for _, n := range d.sums {
			args = append(args, n)
		}
		for _, f := range d.floats {
			args = append(args, f)
		}
		args = append(args, d.extremes[:]...)
		var ch int64
		if err := st.QueryRowContext(ctx, args...).Scan(&ch); err != nil {
			return nil, fmt.Errorf("interface %s: %w", iface, err)
		}
		after[iface] = ch
	}
	return after, nil
}
