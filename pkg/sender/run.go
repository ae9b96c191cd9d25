package sender

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
)

// stableAfter is how long a connection must last to reset the backoff.
const stableAfter = 10 * time.Second

// Run keeps a connection to the collector until ctx is done: it dials, sends
// hello, resumes after the welcome's last_seq, streams sessions and stats and
// reads acks; after any failure it reconnects with exponential backoff and
// jitter. It returns nil when ctx is done, or an error at once when the
// configuration is unusable or Run is already running.
func (s *Sender) Run(ctx context.Context) error {
	if s.cfg.Addr == "" {
		return errors.New("sender: no collector address")
	}
	if _, _, err := net.SplitHostPort(s.cfg.Addr); err != nil {
		return fmt.Errorf("sender: collector address %q: %w", s.cfg.Addr, err)
	}
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("sender: Run is already running")
	}
	s.running, s.stopped = true, false
	s.mu.Unlock()
	defer s.stop()

	var (
		delay    = s.cfg.MinBackoff
		failures int // consecutive failed attempts
		limit    = &logging.Limiter{Window: logEvery}
	)
	for {
		conn, lr, err := s.connect(ctx)
		dropped := err == nil
		if err == nil {
			if failures > 0 {
				s.log.Info("connected to collector", "after_failures", failures)
			}
			failures = 0
			began := time.Now()
			err = s.stream(ctx, conn, lr)
			// Only a connection that held for a while resets the backoff:
			// a collector that welcomes and then drops at once (crashing,
			// overloaded) is not hammered at MinBackoff.
			if time.Since(began) >= stableAfter {
				delay = s.cfg.MinBackoff
				limit = &logging.Limiter{Window: logEvery}
			}
			s.mu.Lock()
			s.connected = false
			s.mu.Unlock()
		}
		if ctx.Err() != nil {
			return nil
		}
		s.mu.Lock()
		s.err = err
		spooled, size := s.next-s.first, len(s.ring)
		s.mu.Unlock()
		failures++
		wait := jitter(delay)
		delay = min(2*delay, s.cfg.MaxBackoff)
		s.logFailure(ctx, limit, err, dropped, wait, spooled, size)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// logFailure writes, rate-limited, the one line an operator needs: what
// failed, what to do, and what happens to the data meanwhile.
func (s *Sender) logFailure(ctx context.Context, limit *logging.Limiter, err error, dropped bool, wait time.Duration, spooled uint64, size int) {
	held := "oldest dropped when full"
	if s.cfg.Block {
		held = "reading pauses when full"
	}
	attrs := []any{"retry_in", wait.Round(time.Millisecond), "spooled", spooled, "spool", size}
	var rej *RejectedError
	if errors.As(err, &rej) {
		limit.Log(ctx, s.log, slog.LevelError, fmt.Sprintf("collector at %s rejected this worker: %s; %s; retrying in %s; sessions are held in memory (%d/%d, %s)",
			s.cfg.Addr, rej.Message, rej.Hint(), wait.Round(time.Millisecond), spooled, size, held), attrs...)
		return
	}
	what := "cannot reach collector"
	if dropped {
		what = "lost connection to collector"
	}
	limit.Log(ctx, s.log, slog.LevelWarn, fmt.Sprintf("%s at %s: %v; retrying in %s; sessions are held in memory (%d/%d, %s)",
		what, s.cfg.Addr, err, wait.Round(time.Millisecond), spooled, size, held), attrs...)
}

// stop marks the Sender stopped and wakes everyone who waits on it.
func (s *Sender) stop() {
	s.mu.Lock()
	s.running, s.stopped, s.connected, s.idle = false, true, false, false
	s.notifyAckLocked()
	s.mu.Unlock()
}

// jitter spreads d uniformly over [d/2, d).
func jitter(d time.Duration) time.Duration {
	if d < 2 {
		return d
	}
	return d/2 + rand.N(d/2)
}
