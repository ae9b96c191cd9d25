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
	var total int64
	for {
		res, err := s.w.ExecContext(ctx, `DELETE FROM ntp_clients WHERE id IN
			(SELECT id FROM ntp_clients WHERE last_seen_timestamp < ? LIMIT ?)`, cut, cleanupChunk)
		if err != nil {
			return total, fmt.Errorf("store: delete clients before %s: %w", cut, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("store: delete clients before %s: %w", cut, err)
		}
		total += n
		if n < cleanupChunk {
			return total, nil
		}
	}
}
