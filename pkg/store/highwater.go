package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
)

// seqSQL raises a worker's high-water seq, never lowers it, and writes the
// worker's binding unless it has one (a binding never changes). Commit runs
// it in the same transaction as the rows the seqs cover: the exactly-once
// guarantee rests on the two committing or rolling back together.
const seqSQL = `INSERT INTO worker_seq (worker_id, interface_name, last_seq, updated_at, binding) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (worker_id) DO UPDATE SET
	last_seq = max(last_seq, excluded.last_seq),
	interface_name = excluded.interface_name,
	updated_at = excluded.updated_at,
	binding = coalesce(worker_seq.binding, excluded.binding)`

// HighWater is the highest seq committed for workerID, 0 when none was.
func (s *Store) HighWater(ctx context.Context, workerID string) (uint64, error) {
	seq, _, err := s.WorkerSeq(ctx, workerID)
	return seq, err
}

// WorkerSeq is the highest seq committed for workerID and the identity the
// worker is bound to (see Batch.Bind); 0 and "" when nothing was committed
// for it, "" when it is not bound.
func (s *Store) WorkerSeq(ctx context.Context, workerID string) (lastSeq uint64, binding string, err error) {
	var seq int64
	var b sql.NullString
	err = s.r.QueryRowContext(ctx, "SELECT last_seq, binding FROM worker_seq WHERE worker_id = ?", workerID).Scan(&seq, &b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", s.wrap("read high-water seq of worker "+strconv.Quote(workerID), err)
	}
	return uint64(seq), b.String, nil
}
