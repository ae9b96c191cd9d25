package store

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// insertColumns are the columns an upsert binds, in clientTable's order:
// all but id, which SQLite assigns.
var insertColumns = slices.DeleteFunc(slices.Clone(clientTable), func(c Column) bool { return c.bind == nil })

// upsertSQL inserts one row or folds it into the existing one, each column
// as its fold says. In DO UPDATE every bare column name is the row's value
// before the update, so the order of the assignments does not matter.
var upsertSQL = func() string {
	names := make([]string, len(insertColumns))
	var set []string
	for i, c := range insertColumns {
		names[i] = c.Name
		if v := c.onConflict(); v != "" {
			set = append(set, c.Name+" = "+v)
		}
	}
	var b strings.Builder
	b.WriteString("INSERT INTO ntp_clients (")
	b.WriteString(strings.Join(names, ", "))
	b.WriteString(") VALUES (")
	b.WriteString(placeholders(len(names)))
	b.WriteString(")\nON CONFLICT (client_ip, interface_name) DO UPDATE SET\n\t")
	b.WriteString(strings.Join(set, ",\n\t"))
	return b.String()
}()

// onConflict is the expression of c's new value when a batch row folds into
// the stored one, "" when the stored value stays: a bare name is the stored
// value, excluded.name the batch row's.
func (c *Column) onConflict() string {
	n := c.Name
	switch c.fold {
	case keep:
		return ""
	case replace:
		return "excluded." + n
	case newestSession:
		return newest("session_timestamp", n)
	case newestKoD:
		return newest("last_kod_timestamp", n)
	case sum:
		return n + " + excluded." + n
	case least, greatest:
		// Times are fixed-width UTC text, so text order is time order.
		f := "min"
		if c.fold == greatest {
			f = "max"
		}
		v := fmt.Sprintf("%s(%s, excluded.%s)", f, n, n)
		if c.notNull {
			return v
		}
		// SQLite's two-argument min and max return NULL when either side
		// is NULL; coalesce keeps whichever side has a value.
		return fmt.Sprintf("coalesce(%s, %s, excluded.%s)", v, n, n)
	}
	panic(fmt.Sprintf("store: column %s: unknown fold %d", n, c.fold))
}

// newest takes column n from whichever side has the newer by column; the
// batch row wins a tie and loses when its by is NULL.
func newest(by, n string) string {
	return fmt.Sprintf("CASE WHEN excluded.%[1]s >= coalesce(%[1]s, '') THEN excluded.%[2]s ELSE %[2]s END", by, n)
}

// CommitResult reports one commit.
type CommitResult struct {
	Inserted int // new (client, interface) rows
	Updated  int // existing rows folded into
	Duration time.Duration
}

// Commit writes the batch in one IMMEDIATE transaction: every row is
// upserted, the traffic series merged into its minute and hour buckets and
// every worker's high-water seq raised, or nothing is. The batch is not
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

	up := tx.StmtContext(ctx, s.upsert)
	args := make([]any, len(insertColumns))
	// A client is new in the minute of its first packet in the batch when
	// the upsert inserts its row: first seen on that interface. The rows
	// are read first, in this transaction, so a row not found is one the
	// upsert inserts. (The connection's last inserted rowid cannot tell:
	// an update leaves it at whatever was last inserted, into any table,
	// such as a series bucket of the commit before; and an upsert that
	// returns its row's id costs a third more, in a statement journal.)
	newClients := make(map[seriesKey]int64)
	totals := make(map[string]*totalsDelta)
	moves, meanMoves := make(keyMoves), make(keyMoves)
	inserted := 0
	stored, err := readStoredProps(ctx, tx, b.rows)
	if err != nil {
		return res, s.wrap("commit: read stored clients", err)
	}
	for i := range b.rows {
		r := &b.rows[i]
		r.args(args, now)
		if _, err := up.ExecContext(ctx, args...); err != nil {
			return res, s.wrap(fmt.Sprintf("commit: upsert client %s on %s", r.key.ip, r.key.iface), err)
		}
		var old *storedProps
		if p := &stored[i]; p.stored {
			old = p
		} else {
			inserted++
			newClients[minuteOf(r.key.iface, r.first)]++
		}
		mv, mm := moves.of(r.key.iface), meanMoves.of(r.key.iface)
		if s.totalsOff {
			// And changes stays: the kept counts must go.
			mv.lost, mm.lost = true, true
			continue
		}
		mv.row(old, r.last)
		mm.means(old, r)
		d := totals[r.key.iface]
		if d == nil {
			d = new(totalsDelta)
			totals[r.key.iface] = d
		}
		d.add(args, old)
	}
	// One row per interface, in the same transaction: the totals agree
	// with the rows after any crash.
	changes, err := commitTotals(ctx, tx, totals)
	if err != nil {
		return res, s.wrap("commit: interface totals", err)
	}
	if !s.seriesOff {
		if err := s.commitSeries(ctx, tx, b, newClients); err != nil {
			return res, err
		}
	}
	seq := tx.StmtContext(ctx, s.seqStmt)
	for id, m := range b.hw {
		if _, err := seq.ExecContext(ctx, id, m.iface, int64(m.seq), now, nullString(m.binding)); err != nil {
			return res, s.wrap(fmt.Sprintf("commit: high-water seq of worker %q", id), err)
		}
	}
	s.activity.begin()
	s.means.begin()
	if err := tx.Commit(); err != nil {
		s.activity.apply(nil, nil, s.clock.now())
		s.means.apply(nil, nil, s.clock.now())
		return res, s.wrap("commit", err)
	}
	s.commits.Add(1)
	at := s.clock.now()
	s.activity.apply(moves, changes, at)
	s.means.apply(meanMoves, changes, at)
	res.Inserted = inserted
	res.Updated = len(b.rows) - res.Inserted
	res.Duration = time.Since(start)
	return res, nil
}

// args fills a with the row's values in insertColumns order.
func (r *row) args(a []any, now string) {
	for i, c := range insertColumns {
		a[i] = c.bind(r, now)
	}
}
