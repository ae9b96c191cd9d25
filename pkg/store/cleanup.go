package store

import (
	"context"
	"fmt"
	"time"
)

// cleanupChunk bounds each delete transaction so that ingestion's batches
// are never held off for long behind a big cleanup.
const cleanupChunk = 5000

// Cleanup deletes the clients whose last_seen is before the cutoff and
// returns how many there were. With dryRun it only counts them. Deletion
// runs in chunks, each its own transaction on the writer, so a cancelled
// cleanup keeps what it deleted so far and reports that count with the error.
func (s *Store) Cleanup(ctx context.Context, before time.Time, dryRun bool) (int64, error) {
	if before.IsZero() {
		return 0, ErrCleanupBefore
	}
	cut := formatTime(before)
	if dryRun {
		var n int64
		err := s.ReadDB().QueryRowContext(ctx,
			"SELECT count(*) FROM ntp_clients WHERE last_seen_timestamp < ?", cut).Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("store: count clients before %s: %w", cut, err)
		}
		return n, nil
	}
	n, err := s.deleteChunks(ctx, "clients before "+cut, `DELETE FROM ntp_clients WHERE id IN
			(SELECT id FROM ntp_clients WHERE last_seen_timestamp < ? LIMIT ?)`, cut)
	return s.afterClientDelete(ctx, n, err)
}

// DeleteSeriesBefore deletes the series buckets of resolution step
// (MinuteStep or HourStep) that start before the cutoff, in chunks like
// Cleanup, and returns how many it deleted. The day buckets follow the
// hours' retention: with HourStep, the days that ended by the cutoff go
// too, so that a day is kept while any hour of it is; the count is of the
// hours alone, the unit the retention is set in.
func (s *Store) DeleteSeriesBefore(ctx context.Context, step time.Duration, before time.Time) (int64, error) {
	if before.IsZero() {
		return 0, ErrCleanupBefore
	}
	if step == HourStep {
		if _, err := s.DeleteSeriesBefore(ctx, DayStep, before.Add(-DayStep+time.Second)); err != nil {
			return 0, err
		}
	}
	for _, t := range seriesTables {
		if t.step == step {
			return s.deleteSeries(ctx, t.table, t.deleted, before)
		}
	}
	return 0, fmt.Errorf("store: no series of resolution %s", step)
}

// deleteSeries deletes table's buckets before the cutoff. Once any went,
// it records the cutoff in series_info's column deleted (none: not
// recorded), before the first chunk, so that a read of a range's ragged
// end never finds the buckets gone and the cutoff not yet known; and it
// counts a write into the settled series (series_memo.go), after the
// chunks rather than in each: until then a reader may still be handed the
// merge from before the delete, as it would have been a moment earlier.
func (s *Store) deleteSeries(ctx context.Context, table, deleted string, before time.Time) (int64, error) {
	what := table + " before " + before.UTC().Format(time.RFC3339)
	if deleted != "" {
		if _, err := s.w.ExecContext(ctx, "UPDATE series_info SET "+deleted+" = max(coalesce("+deleted+", ?1), ?1)"+
			" WHERE EXISTS (SELECT 1 FROM "+table+" WHERE bucket < ?1)", before.Unix()); err != nil {
			return 0, fmt.Errorf("store: delete %s: record the cutoff: %w", what, err)
		}
	}
	n, err := s.deleteChunks(ctx, what,
		"DELETE FROM "+table+" WHERE rowid IN (SELECT rowid FROM "+table+" WHERE bucket < ? LIMIT ?)", before.Unix())
	if n > 0 {
		if berr := bumpSettled(context.WithoutCancel(ctx), s.w); berr != nil && err == nil {
			err = fmt.Errorf("store: delete %s: count the write into the settled series: %w", what, berr)
		}
	}
	return n, err
}

// deleteChunks runs query, a DELETE of at most cleanupChunk rows whose
// arguments are arg and the chunk size, until a chunk deletes fewer: each
// chunk is its own transaction, so a commit waits for one chunk at most.
func (s *Store) deleteChunks(ctx context.Context, what, query string, arg any) (int64, error) {
	var total int64
	for {
		res, err := s.w.ExecContext(ctx, query, arg, cleanupChunk)
		if err != nil {
			return total, fmt.Errorf("store: delete %s: %w", what, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("store: delete %s: %w", what, err)
		}
		total += n
		if n < cleanupChunk {
			return total, nil
		}
	}
}
