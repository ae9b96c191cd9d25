package ingest

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

// Reasons under which Snapshot.RejectedByReason counts the sessions of new
// clients that Config.MaxClients kept out of the store.
const (
	// RejectClientLimit: a new client with no answered session, refused
	// because the table holds MaxClients − reserve rows or more.
	RejectClientLimit = "client_limit"
	// RejectClientLimitAnswered: a new client with an answered session,
	// refused because the table holds MaxClients rows.
	RejectClientLimitAnswered = "client_limit_answered"
)

// recountEvery bounds how stale the committer's row count may be before it
// counts again when a batch would come near the limit: deletions (cleanup)
// only lower the count, so a stale one errs on the side of refusing.
const recountEvery = time.Second

// rowLimit is the committer's view of the table's size under MaxClients.
// Only the committer goroutine touches known and countedAt.
type rowLimit struct {
	lim       store.ClientLimit
	known     int64 // rows stored, an upper bound: exact at countedAt, plus every insert since
	countedAt time.Time
	log       logging.Limiter // the warning about refused clients

	refusedRows     [2]atomic.Uint64 // [unanswered, answered]
	refusedSessions [2]atomic.Uint64
}

// commitLimited commits p's batch after taking out the new rows that
// MaxClients does not allow. A retried batch is limited once.
func (s *Server) commitLimited(ctx context.Context, p *pending) (store.CommitResult, error) {
	l := &s.rows
	if l.lim.Max > 0 && !p.limited {
		if err := s.limit(ctx, p); err != nil {
			return store.CommitResult{}, err
		}
		p.limited = true
	}
	res, err := s.st.Commit(ctx, p.b)
	if err == nil {
		l.known += int64(res.Inserted)
	}
	return res, err
}

func (s *Server) limit(ctx context.Context, p *pending) error {
	l := &s.rows
	near := l.known+int64(p.b.Rows()) > l.lim.Max-l.lim.Reserve
	if !near {
		return nil // even if every row is new
	}
	if l.countedAt.IsZero() || time.Since(l.countedAt) > recountEvery {
		n, err := s.st.CountClients(ctx, store.ClientFilter{})
		if err != nil {
			return err
		}
		l.known, l.countedAt = n, time.Now()
	}
	ref, err := s.st.Limit(ctx, p.b, l.known, l.lim)
	if err != nil {
		return err
	}
	for i, n := range [2][2]int64{{ref.UnansweredRows, ref.UnansweredSessions}, {ref.AnsweredRows, ref.AnsweredSessions}} {
		l.refusedRows[i].Add(uint64(n[0]))
		l.refusedSessions[i].Add(uint64(n[1]))
	}
	if ref.AnsweredRows+ref.UnansweredRows > 0 {
		l.log.Log(ctx, s.log, slog.LevelWarn, "new clients refused: the client table is full (--max-clients)",
			"max_clients", l.lim.Max, "stored", l.known,
			"refused_rows", ref.AnsweredRows+ref.UnansweredRows, "refused_answered_rows", ref.AnsweredRows)
	}
	return nil
}
