package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/stream"
)

// The writer is two goroutines in a pipeline: the folder takes sessions off
// the queue, drops duplicates and folds the rest into a store.Batch; the
// committer commits full batches, in order, and acknowledges them. While one
// batch commits the next one fills, so decoding and folding overlap with the
// disk. At most one batch commits and one fills: when both are full the
// folder stops taking from the queue, the queue fills, and the readers push
// back on the workers.

// pending is a batch and the highest seq it holds per worker.
type pending struct {
	b     *store.Batch
	marks map[*worker]uint64
	// other counts what the batch holds besides sessions: refused
	// sessions and bindings, which commit without a row.
	other int
	// live gathers the batch's sessions for Config.Stream's subscribers.
	live *stream.Batch
	// limited is set once MaxClients has taken its rows out (limit.go).
	limited bool
}

// len is what the batch holds: sessions, refused sessions and bindings.
func (p *pending) len() int { return p.b.Len() + p.other }

func (s *Server) newPending() *pending {
	return &pending{b: store.NewBatch(), marks: make(map[*worker]uint64), live: s.cfg.Stream.NewBatch()}
}

// runWriter runs until the queue is closed, drained and committed. drainBy
// delivers the shutdown deadline just before the queue is closed.
func (s *Server) runWriter(drainBy <-chan time.Time) error {
	commitQ := make(chan *pending)
	spare := make(chan *pending, 2) // room for both at the end
	spare <- s.newPending()
	committed := make(chan error, 1)
	go func() { committed <- s.runCommitter(commitQ, spare) }()

	cur := s.newPending()
	size, maxSize := s.cfg.BatchSize, s.cfg.MaxBatchSize
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var timerC <-chan time.Time
	due := false // the batch interval has passed for cur
	queue := s.queue
	for queue != nil {
		n := cur.len()
		ready := n >= size || (due && n > 0)
		if ready {
			// Hand the batch over at once when the committer is idle.
			select {
			case commitQ <- cur:
				cur = <-spare
				timer.Stop()
				timerC, due = nil, false
				continue
			default:
			}
		}
		// The committer is busy (or the batch is not ready): keep folding,
		// up to maxSize once the batch has reached size.
		limit := size
		if n >= size {
			limit = maxSize
		}
		var sendC chan<- *pending
		if ready {
			sendC = commitQ
		}
		recvC := queue
		if n >= limit {
			recvC = nil
		}
		select {
		case sendC <- cur:
			cur = <-spare
			timer.Stop()
			timerC, due = nil, false
		case it, ok := <-recvC:
			if !ok {
				queue = nil
				break
			}
			if cur.len() == 0 && !due {
				timer.Reset(s.cfg.BatchInterval)
				timerC = timer.C
			}
			s.fold(cur, &it)
			// Take whatever else is queued without a select per session.
		more:
			for cur.len() < limit {
				select {
				case it, ok := <-queue:
					if !ok {
						queue = nil
						break more
					}
					s.fold(cur, &it)
				default:
					break more
				}
			}
		case <-timerC:
			timerC, due = nil, true
		case d := <-drainBy:
			s.drainBy.Store(d.UnixNano())
			drainBy = nil
		}
	}
	timer.Stop()
	if cur.len() > 0 {
		commitQ <- cur
	}
	close(commitQ)
	return <-committed
}

func (s *Server) fold(p *pending, it *item) {
	w := it.w
	if it.bind {
		p.b.Bind(w.id, w.iface, w.binding)
		p.other++
		return
	}
	s.processed.Add(1)
	if it.seq <= w.accepted.Load() {
		s.duplicates.Add(1)
		return
	}
	w.accepted.Store(it.seq)
	p.marks[w] = it.seq
	if it.refused != session.Valid {
		// Counted here, after the duplicate check, so that a refused
		// session the worker resends is counted once.
		s.rejected[it.refused].Add(1)
		p.b.Skip(w.id, w.iface, it.seq)
		p.other++
		return
	}
	p.b.Add(w.id, w.iface, it.seq, &it.s)
	p.live.Add(w.id, it.seq, &it.s)
}

// runCommitter commits batches in the order they come. After a batch is
// abandoned (only at shutdown) it commits nothing more: a later batch would
// raise the high-water seqs past the sessions that were lost, and the workers
// would never resend them.
func (s *Server) runCommitter(commitQ <-chan *pending, spare chan<- *pending) error {
	var failed error
	for p := range commitQ {
		if failed == nil {
			failed = s.commit(p)
		}
		clear(p.marks)
		p.b.Reset()
		p.other, p.limited = 0, false
		p.live.Reset()
		spare <- p
	}
	return failed
}

// commit writes the batch, retrying with backoff for as long as it fails:
// a full disk or a lock held by another process is an operator's problem to
// fix, and meanwhile the queue fills and the readers push back on the
// workers. Nothing is acknowledged until the commit succeeds. Only after
// shutdown has begun and its deadline has passed does it give up.
func (s *Server) commit(p *pending) error {
	if p.len() == 0 {
		return nil
	}
	backoff := 100 * time.Millisecond
	var res store.CommitResult
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		drainBy := s.drainBy.Load()
		if drainBy != 0 {
			ctx, cancel = context.WithDeadline(ctx, time.Unix(0, drainBy))
		}
		start := time.Now()
		s.commitSince.Store(start.UnixNano())
		var err error
		res, err = s.commitLimited(ctx, p)
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
		if drainBy = s.drainBy.Load(); drainBy != 0 && time.Now().Add(backoff).After(time.Unix(0, drainBy)) {
			s.log.Error("batch commit failed at shutdown; giving up, the workers will resend it",
				"sessions", p.b.Len(), "rows", p.b.Rows(), "attempts", attempt, logging.KeyErr, err)
			return fmt.Errorf("ingest: %d sessions left uncommitted at shutdown: %w", p.b.Len(), err)
		}
		s.log.Error("batch commit failed; batch kept, not acknowledged, retrying",
			"sessions", p.b.Len(), "rows", p.b.Rows(), "attempt", attempt, "retry_in", backoff, logging.KeyErr, err)
		time.Sleep(backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
	if s.failedSince.Swap(0) != 0 {
		s.log.Info("batch commit succeeded again", "sessions", p.b.Len())
	}
	n, rows := p.b.Len(), p.b.Rows()
	s.inserted.Add(uint64(res.Inserted))
	s.updated.Add(uint64(res.Updated))
	s.committedSessions.Add(uint64(n))
	s.batches.Add(1)
	s.statMu.Lock()
	s.lastBatchDur, s.lastBatchSize, s.lastBatchRows = res.Duration, n, rows
	s.lastCommitAt = time.Now()
	s.lastCommitErr = ""
	s.statMu.Unlock()
	s.log.Debug("batch committed", "sessions", n, "rows", rows, "inserted", res.Inserted,
		"duration_us", res.Duration.Microseconds(), "workers", len(p.marks))
	if s.cfg.OnBatch != nil {
		s.cfg.OnBatch(n, rows, res.Duration)
	}
	if s.cfg.OnCommit != nil {
		s.cfg.OnCommit(p.b)
	}
	for w, seq := range p.marks {
		w.committed.Store(seq)
		if c := w.current(); c != nil {
			c.ack(seq)
		}
	}
	// Live subscribers see what is stored, once the workers have their
	// acks.
	s.cfg.Stream.Publish(p.live)
	return nil
}
