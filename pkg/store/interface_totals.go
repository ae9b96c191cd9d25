package store

import (
	"context"
	"fmt"
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
