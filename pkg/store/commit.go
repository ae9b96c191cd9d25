package store

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// Columns of ntp_clients that describe the client's latest session. On
// conflict they are all taken from whichever side has the newer
// session_timestamp, so a late batch of old sessions never overwrites them.
var lastPacketCols = []string{
	"client_port", "server_ip", "server_port", "ntp_version", "mode",
	"stratum", "precision", "root_delay", "root_dispersion", "reference_id",
	"leap_indicator", "poll_interval",
	"reference_timestamp", "originate_timestamp", "receive_timestamp", "transmit_timestamp",
	"client_to_server_latency_seconds", "server_processing_time_seconds", "total_process_time_seconds",
	"packet_length", "session_timestamp",
}

// Counters and sums that add up on conflict.
var sumCols = []string{
	"session_count", "answered_count", "unanswered_count", "kod_count",
	"mode1_count", "mode2_count", "mode5_count", "mode6_count", "mode7_count",
	"latency_count", "latency_sum", "processing_sum", "total_sum",
}

var (
	minCols = []string{"latency_min", "processing_min", "total_min"}
	maxCols = []string{"latency_max", "processing_max", "total_max"}
)

// insertCols is the order in which rowArgs binds values.
var insertCols = func() []string {
	c := []string{"client_ip", "client_ip_bytes", "interface_name"}
	c = append(c, lastPacketCols...)
	c = append(c, "first_seen_timestamp", "last_seen_timestamp", "created_at", "updated_at",
		"last_kod_code", "last_kod_timestamp")
	c = append(c, sumCols...)
	c = append(c, minCols...)
	c = append(c, maxCols...)
	return c
}()

// upsertSQL inserts one row or folds it into the existing one. In DO UPDATE
// every bare column name is the row's value before the update, so the order
// of the assignments does not matter.
var upsertSQL = func() string {
	var b strings.Builder
	b.WriteString("INSERT INTO ntp_clients (")
	b.WriteString(strings.Join(insertCols, ", "))
	b.WriteString(") VALUES (")
	b.WriteString(strings.TrimSuffix(strings.Repeat("?, ", len(insertCols)), ", "))
	b.WriteString(")\nON CONFLICT (client_ip, interface_name) DO UPDATE SET\n")
	var set []string
	// Times are fixed-width UTC text, so text order is time order.
	set = append(set,
		"first_seen_timestamp = min(first_seen_timestamp, excluded.first_seen_timestamp)",
		"last_seen_timestamp = max(last_seen_timestamp, excluded.last_seen_timestamp)",
		"updated_at = excluded.updated_at",
		"last_kod_code = CASE WHEN excluded.last_kod_timestamp >= coalesce(last_kod_timestamp, '') THEN excluded.last_kod_code ELSE last_kod_code END",
		"last_kod_timestamp = CASE WHEN excluded.last_kod_timestamp >= coalesce(last_kod_timestamp, '') THEN excluded.last_kod_timestamp ELSE last_kod_timestamp END",
	)
	for _, c := range lastPacketCols {
		set = append(set, fmt.Sprintf("%[1]s = CASE WHEN excluded.session_timestamp >= coalesce(session_timestamp, '') THEN excluded.%[1]s ELSE %[1]s END", c))
	}
	for _, c := range sumCols {
		set = append(set, fmt.Sprintf("%[1]s = %[1]s + excluded.%[1]s", c))
	}
	// SQLite's two-argument min and max return NULL when either side is
	// NULL; coalesce keeps whichever side has a value.
	for _, c := range minCols {
		set = append(set, fmt.Sprintf("%[1]s = coalesce(min(%[1]s, excluded.%[1]s), %[1]s, excluded.%[1]s)", c))
	}
	for _, c := range maxCols {
		set = append(set, fmt.Sprintf("%[1]s = coalesce(max(%[1]s, excluded.%[1]s), %[1]s, excluded.%[1]s)", c))
	}
	b.WriteString("\t")
	b.WriteString(strings.Join(set, ",\n\t"))
	return b.String()
}()

// CommitResult reports one commit.
type CommitResult struct {
	Inserted int // new (client, interface) rows
	Updated  int // existing rows folded into
	Duration time.Duration
}

// Commit writes the batch in one IMMEDIATE transaction: every row is upserted
// and every worker's high-water seq raised, or nothing is. The batch is not
// modified; after an error (a full disk, say) the caller keeps it and
// commits it again later, and after success the caller resets it.
func (s *Store) Commit(ctx context.Context, b *Batch) (CommitResult, error) {
	start := time.Now()
	var res CommitResult
	if b.Len() == 0 && b.Workers() == 0 {
		return res, nil
	}
	for id, m := range b.hw {
		if m.seq > math.MaxInt64 {
			return res, fmt.Errorf("store: commit: worker %q: %w", id, ErrSeqRange)
		}
	}
	now := formatTime(start)

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return res, s.wrap("begin commit", err)
	}
	defer tx.Rollback() // no-op after Commit

	var before, after int64
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM ntp_clients").Scan(&before); err != nil {
		return res, s.wrap("commit", err)
	}
	up := tx.StmtContext(ctx, s.upsert)
	args := make([]any, len(insertCols))
	for i := range b.rows {
		b.rows[i].args(args, now)
		if _, err := up.ExecContext(ctx, args...); err != nil {
			return res, s.wrap(fmt.Sprintf("commit: upsert client %s on %s", b.rows[i].key.ip, b.rows[i].key.iface), err)
		}
	}
	seq := tx.StmtContext(ctx, s.seqStmt)
	for id, m := range b.hw {
		if _, err := seq.ExecContext(ctx, id, m.iface, int64(m.seq), now); err != nil {
			return res, s.wrap(fmt.Sprintf("commit: high-water seq of worker %q", id), err)
		}
	}
	// A new row takes the largest rowid plus one and nothing else writes
	// inside this transaction, so the growth of max(id) counts the inserts.
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM ntp_clients").Scan(&after); err != nil {
		return res, s.wrap("commit", err)
	}
	if err := tx.Commit(); err != nil {
		return res, s.wrap("commit", err)
	}
	res.Inserted = int(after - before)
	res.Updated = len(b.rows) - res.Inserted
	res.Duration = time.Since(start)
	return res, nil
}

// args fills a with the row's values in insertCols order.
func (r *row) args(a []any, now string) {
	s := &r.latest
	i := 0
	put := func(v any) { a[i] = v; i++ }
	ip := r.key.ip
	b16 := ip.As16()
	put(ip.String())
	put(b16[:])
	put(r.key.iface)

	// Last packet: request fields, then response fields (NULL unless the
	// latest session was answered).
	put(int64(s.ClientPort))
	if s.ServerIP.IsValid() {
		put(s.ServerIP.Unmap().String())
	} else {
		put(nil)
	}
	put(int64(s.ServerPort))
	put(int64(s.Version))
	put(int64(s.Mode))
	if s.Answered {
		put(int64(s.Stratum))
		put(int64(s.Precision))
		put(s.RootDelay)
		put(s.RootDispersion)
		put(nullString(s.ReferenceID))
		put(nullString(s.Leap))
	} else {
		for range 6 {
			put(nil)
		}
	}
	put(int64(s.Poll))
	if s.Answered {
		put(nullZero(s.ReferenceTime))
		put(nullZero(s.OriginateTime))
		put(nullZero(s.ReceiveTime))
		put(nullZero(s.TransmitTime))
		if s.LatencyValid {
			put(s.Latency)
		} else {
			put(nil)
		}
		put(s.Processing)
		put(s.Total)
	} else {
		for range 7 {
			put(nil)
		}
	}
	put(int64(s.PacketLength))
	put(formatTime(s.Timestamp))

	put(formatTime(r.first))
	put(formatTime(r.last))
	put(now)
	put(now)
	if r.kod > 0 {
		put(r.kodCode)
		put(formatTime(r.kodTime))
	} else {
		put(nil)
		put(nil)
	}

	put(r.sessions)
	put(r.answered)
	put(r.unanswered)
	put(r.kod)
	put(r.modes[1])
	put(r.modes[2])
	put(r.modes[5])
	put(r.modes[6])
	put(r.modes[7])
	put(r.latCount)
	put(r.latSum)
	put(r.procSum)
	put(r.totSum)
	put(metric(r.latCount, r.latMin))
	put(metric(r.procCount, r.procMin))
	put(metric(r.procCount, r.totalMin))
	put(metric(r.latCount, r.latMax))
	put(metric(r.procCount, r.procMax))
	put(metric(r.procCount, r.totalMax))
	if i != len(a) {
		panic(fmt.Sprintf("store: %d values bound for %d columns", i, len(a)))
	}
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullZero(v float64) any {
	if v == 0 {
		return nil
	}
	return v
}

func metric(n int64, v float64) any {
	if n == 0 {
		return nil
	}
	return v
}
