package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
)

// seqSQL raises a worker's high-water seq, never lowers it. Commit runs it
// in the same transaction as the rows the seqs cover: the exactly-once
// guarantee rests on the two committing or rolling back together.
const seqSQL = `INSERT INTO worker_seq (worker_id, interface_name, last_seq, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (worker_id) DO UPDATE SET
	last_seq = max(last_seq, excluded.last_seq),
	interface_name = excluded.interface_name,
	updated_at = excluded.updated_at`

// HighWater is the highest seq committed for workerID, 0 when none was.
func (s *Store) HighWater(ctx context.Context, workerID string) (uint64, error) {
	var seq int64
	err := s.r.QueryRowContext(ctx, "SELECT last_seq FROM worker_seq WHERE worker_id = ?", workerID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.wrap("read high-water seq of worker "+strconv.Quote(workerID), err)
	}
	return uint64(seq), nil
}
