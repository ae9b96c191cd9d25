package store

import (
	"context"
	"fmt"
)

// ClientLimit caps the rows of ntp_clients, the one table whose size the
// senders choose: every spoofed source address of a flood would otherwise
// become a row. Rows that exist are always updated; a new row is refused
// once the table is full for its class:
//
//   - a row whose sessions in the batch include an answered one (a client
//     the monitored server talked to) may take the table up to Max;
//   - any other new row (only unanswered requests or other-mode packets,
//     which is what spoofed sources produce) only up to Max − Reserve.
//
// So a flood of unanswered spoofed requests stops Reserve rows short of
// Max, and the clients the server answers still find room after it.
type ClientLimit struct {
	// Max is the most rows the table may hold; 0 means no limit.
	Max int64
	// Reserve is the room kept for answered clients.
	Reserve int64
}

// DefaultReserve is the Reserve for a Max: a tenth of it.
func DefaultReserve(max int64) int64 { return max / 10 }

// Refusal counts what a limit kept out of one batch, by class.
type Refusal struct {
	// NewRows is the number of new rows the batch may still insert.
	NewRows int64
	// Rows and Sessions refused: Answered for rows with an answered
	// session, Unanswered for the others.
	AnsweredRows, AnsweredSessions     int64
	UnansweredRows, UnansweredSessions int64
}

// Limit removes from b every new row that lim does not allow, given that
// the table holds stored rows, and reports what it removed and how many new
// rows remain. Rows are taken in the batch's order, so when room runs out
// the rows added to the batch first get it. The sessions of a removed row
// stay counted in b.Len and its workers' high-water seqs stay: they were
// delivered and are acknowledged, only not stored.
//
// Limit reads through the query-only pool; nothing else may insert rows
// between it and the Commit of b (the single writer calls both).
func (s *Store) Limit(ctx context.Context, b *Batch, stored int64, lim ClientLimit) (Refusal, error) {
	var res Refusal
	if lim.Max <= 0 {
		return res, nil
	}
	stmt, err := s.r.PrepareContext(ctx, "SELECT count(*) FROM ntp_clients WHERE client_ip = ? AND interface_name = ?")
	if err != nil {
		return res, fmt.Errorf("store: client limit: %w", err)
	}
	defer stmt.Close()
	keep := b.rows[:0]
	for i := range b.rows {
		r := &b.rows[i]
		var n int
		if err := stmt.QueryRowContext(ctx, r.key.ip.String(), r.key.iface).Scan(&n); err != nil {
			return res, fmt.Errorf("store: client limit: look up %s on %s: %w", r.key.ip, r.key.iface, err)
		}
		switch room := lim.Max - stored - res.NewRows; {
		case n > 0:
		case r.answered > 0 && room > 0:
			res.NewRows++
		case r.answered == 0 && room > lim.Reserve:
			res.NewRows++
		case r.answered > 0:
			res.AnsweredRows++
			res.AnsweredSessions += r.sessions + r.otherModes()
			continue
		default:
			res.UnansweredRows++
			res.UnansweredSessions += r.sessions + r.otherModes()
			continue
		}
		keep = append(keep, *r)
	}
	clear(b.rows[len(keep):])
	b.rows = keep
	clear(b.idx)
	for i := range b.rows {
		b.idx[b.rows[i].key] = int32(i)
	}
	return res, nil
}

// otherModes is the number of other-mode packets folded into r.
func (r *row) otherModes() int64 {
	var n int64
	for _, m := range r.modes {
		n += m
	}
	return n
}
