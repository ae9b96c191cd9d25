package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// seriesStmts are the prepared statements of one series table.
type seriesStmts struct {
	get, put *sql.Stmt
}

func seriesGetSQL(table string) string {
	return "SELECT " + seriesColumns + " FROM " + table + " WHERE interface_name = ? AND bucket = ?"
}

// seriesPutSQL writes a whole bucket: Commit has merged the stored row into
// it first, inside the same transaction, so the new values replace the old.
func seriesPutSQL(table string) string {
	cols := strings.Split(strings.Join(strings.Fields(seriesColumns), ""), ",")
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + " = excluded." + c
	}
	return "INSERT INTO " + table + " (interface_name, bucket, " + strings.Join(cols, ", ") + ") VALUES (" +
		placeholders(len(cols)+2) + ")\nON CONFLICT (interface_name, bucket) DO UPDATE SET " + strings.Join(set, ", ")
}

func (s *Store) prepareSeries(ctx context.Context) error {
	for _, t := range seriesTables {
		var st seriesStmts
		var err error
		if st.get, err = s.w.PrepareContext(ctx, seriesGetSQL(t.table)); err != nil {
			return s.wrap("prepare "+t.table+" read", err)
		}
		if st.put, err = s.w.PrepareContext(ctx, seriesPutSQL(t.table)); err != nil {
			st.get.Close()
			return s.wrap("prepare "+t.table+" upsert", err)
		}
		s.series = append(s.series, st)
	}
	return nil
}

func (s *Store) closeSeries() []error {
	var errs []error
	for _, st := range s.series {
		errs = append(errs, st.get.Close(), st.put.Close())
	}
	return errs
}

// commitSeries merges the batch's minute buckets, and the hours and days
// they roll up to, into the stored rows inside tx. newClients counts the
// client rows the commit inserted, by the minute of their first packet. The
// batch is not changed, so that a failed commit can be retried.
func (s *Store) commitSeries(ctx context.Context, tx *sql.Tx, b *Batch, newClients map[seriesKey]int64) error {
	levels := make([]map[seriesKey]*SeriesBucket, len(seriesTables))
	levels[0] = make(map[seriesKey]*SeriesBucket, len(b.sidx))
	for k, i := range b.sidx {
		m := new(SeriesBucket)
		m.Merge(&b.series[i])
		m.NewClients += newClients[k]
		levels[0][k] = m
	}
	// Each coarser level is the merge of the one below: a day is merged
	// from the batch's hours, not from its minutes again.
	for l := 1; l < len(seriesTables); l++ {
		secs := int64(seriesTables[l].step / time.Second)
		levels[l] = make(map[seriesKey]*SeriesBucket)
		for k, m := range levels[l-1] {
			up := seriesKey{iface: k.iface, start: floorDiv(k.start, secs) * secs}
			u := levels[l][up]
			if u == nil {
				u = new(SeriesBucket)
				levels[l][up] = u
			}
			u.Merge(m)
		}
	}
	now := s.clock.now()
	for k := range levels[0] {
		if isLate(k.start, now) {
			if err := bumpSettled(ctx, tx); err != nil {
				return s.wrap("commit: count a write into the settled series", err)
			}
			break
		}
	}
	for i, buckets := range levels {
		get := tx.StmtContext(ctx, s.series[i].get)
		put := tx.StmtContext(ctx, s.series[i].put)
		table := seriesTables[i].table
		for k, add := range buckets {
			if err := mergeStored(ctx, get, k, add); err != nil {
				return s.wrap(fmt.Sprintf("commit: read %s %s at %d", table, k.iface, k.start), err)
			}
			args, err := add.RowValues()
			if err != nil {
				return fmt.Errorf("store: commit: encode %s %s at %d: %w", table, k.iface, k.start, err)
			}
			if _, err := put.ExecContext(ctx, append([]any{k.iface, k.start}, args...)...); err != nil {
				return s.wrap(fmt.Sprintf("commit: write %s %s at %d", table, k.iface, k.start), err)
			}
		}
	}
	return nil
}

// mergeStored merges the stored bucket k, if there is one, into b.
func mergeStored(ctx context.Context, get *sql.Stmt, k seriesKey, b *SeriesBucket) error {
	var r storedBucket
	err := get.QueryRowContext(ctx, k.iface, k.start).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return b.mergeStored(&r)
}
