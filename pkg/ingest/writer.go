package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

// batchWriter is the single goroutine that owns the store's write side: it
// takes sessions off the queue, drops duplicates, folds the rest into one
// store.Batch, commits it, and acknowledges.
type batchWriter struct {
	s     *Server
	b     *store.Batch
	marks map[*worker]uint64 // highest seq per worker in b
	// drainBy is the time after which a failing final commit is abandoned;
	// zero until shutdown.
	drainBy time.Time
}

// runWriter runs until the queue is closed and drained. drainBy delivers the
// shutdown deadline just before the queue is closed.
func (s *Server) runWriter(drainBy <-chan time.Time) error {
	bw := &batchWriter{s: s, b: store.NewBatch(), marks: make(map[*worker]uint64)}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var timerC <-chan time.Time
	size := s.cfg.BatchSize
	for {
		select {
		case d := <-drainBy:
			bw.drainBy = d
			drainBy = nil
			continue
		case it, ok := <-s.queue:
			if !ok {
				timer.Stop()
				return bw.commit()
			}
			if bw.b.Len() == 0 {
				timer.Reset(s.cfg.BatchInterval)
				timerC = timer.C
			}
			bw.add(&it)
			// Take whatever else is already queued without going back
			// through select for each session.
		more:
			for bw.b.Len() < size {
				select {
				case it, ok := <-s.queue:
					if !ok {
						timer.Stop()
						return bw.commit()
					}
					bw.add(&it)
				default:
					break more
				}
			}
			if bw.b.Len() < size {
				continue
			}
		case <-timerC:
		}
		timer.Stop()
		timerC = nil
		if err := bw.commit(); err != nil {
			// Only a shutdown gives up on a batch.
			return err
		}
	}
}

func (bw *batchWriter) add(it *item) {
	s := bw.s
	s.processed.Add(1)
	w := it.w
	if it.seq <= w.accepted.Load() {
		s.duplicates.Add(1)
		return
	}
	w.accepted.Store(it.seq)
	bw.marks[w] = it.seq
	bw.b.Add(w.id, w.iface, it.seq, &it.s)
}

// commit writes the batch, retrying with backoff for as long as it fails:
// a full disk or a lock held by another process is an operator's problem to
// fix, and meanwhile the queue fills and the readers push back on the
// workers. Nothing is acknowledged until the commit succeeds. Only after
// shutdown has begun and its deadline has passed does it give up.
func (bw *batchWriter) commit() error {
	s := bw.s
	if bw.b.Len() == 0 {
		return nil
	}
	backoff := 100 * time.Millisecond
	var res store.CommitResult
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if !bw.drainBy.IsZero() {
			ctx, cancel = context.WithDeadline(ctx, bw.drainBy)
		}
		start := time.Now()
		s.commitSince.Store(start.UnixNano())
		var err error
		res, err = s.st.Commit(ctx, bw.b)
		s.commitSince.Store(0)
		cancel()
		if err == nil {
			break
		}
		s.commitFailures.Add(1)
		s.count(kCommit)
		s.failedSince.CompareAndSwap(0, start.UnixNano())
		s.statMu.Lock()
		s.lastCommitErr = err.Error()
		s.statMu.Unlock()
		if !bw.drainBy.IsZero() && time.Now().Add(backoff).After(bw.drainBy) {
			s.log.Error("batch commit failed at shutdown; giving up, the workers will resend it",
				"sessions", bw.b.Len(), "rows", bw.b.Rows(), "attempts", attempt, "err", err)
			return fmt.Errorf("ingest: %d sessions left uncommitted at shutdown: %w", bw.b.Len(), err)
		}
		s.log.Error("batch commit failed; batch kept, not acknowledged, retrying",
			"sessions", bw.b.Len(), "rows", bw.b.Rows(), "attempt", attempt, "retry_in", backoff, "err", err)
		time.Sleep(backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
	if s.failedSince.Swap(0) != 0 {
		s.log.Info("batch commit succeeded again", "sessions", bw.b.Len())
	}
	n, rows := bw.b.Len(), bw.b.Rows()
	s.inserted.Add(uint64(res.Inserted))
	s.updated.Add(uint64(res.Updated))
	s.committedSessions.Add(uint64(n))
	s.batches.Add(1)
	s.statMu.Lock()
	s.lastBatchDur, s.lastBatchSize, s.lastBatchRows = res.Duration, n, rows
	s.lastCommitAt = time.Now()
	s.lastCommitErr = ""
	s.statMu.Unlock()
	if s.cfg.OnBatch != nil {
		s.cfg.OnBatch(n, rows, res.Duration)
	}
	for w, seq := range bw.marks {
		w.committed.Store(seq)
		if c := w.current(); c != nil {
			c.ack(seq)
		}
	}
	clear(bw.marks)
	bw.b.Reset()
	return nil
}
