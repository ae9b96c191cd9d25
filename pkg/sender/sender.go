package sender

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// Counters is a snapshot of a Sender's progress.
type Counters struct {
	Seq        uint64 // sessions passed to Send so far; the n-th one has seq n
	Sent       uint64 // session lines written to the collector, resends included
	Acked      uint64 // highest seq the collector acknowledged (seqs as in Seq)
	Lost       uint64 // sessions dropped from a full spool (Block=false)
	Shed       uint64 // unanswered sessions not spooled, the spool half full (ShedUnanswered)
	Spooled    uint64 // sessions held for resend right now
	Reconnects uint64 // connections established after the first one
	Connected  bool   // welcomed by the collector and streaming
}

// Sender streams sessions to a collector. Create it with New; call Run in
// one goroutine and Send, SendStats, Flush and Counters from any other.
type Sender struct {
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	space sync.Cond // broadcast when acks or a stop free spool space
	// ring holds seqs first..next-1; seq k lives at ring[k%len(ring)].
	ring    []session.Session
	first   uint64 // oldest seq held
	next    uint64 // seq the next Send assigns
	sendPos uint64 // next seq to write on the current connection
	written uint64 // highest seq ever handed to a connection
	acked   uint64
	lost    uint64
	shed    uint64
	// offset turns the seqs above (1 for the first session passed to Send)
	// into seqs on the wire. It stays 0 unless a collector's last_seq is
	// ahead of every seq assigned, which happens only when a worker ID is
	// reused: numbering then continues after last_seq instead of losing the
	// spool to the collector's duplicate check.
	offset uint64
	// idle is set by the writer before it waits on wake, so that Send pays
	// for a wake-up only when the writer is actually waiting.
	idle bool
	wake chan struct{}
	// ackCh is closed and replaced whenever acked advances or the sender
	// stops, waking Flush.
	ackCh chan struct{}
	// ackWaitSince is when the oldest outstanding (written, unacknowledged)
	// session started waiting for an ack, or the last ack arrived.
	ackWaitSince time.Time
	stats        wire.Stats
	statsPending bool
	running      bool
	stopped      bool
	connected    bool
	everWelcomed bool
	reconnects   uint64
	err          error

	sent atomic.Uint64

	// Used only by Run's goroutine.
	batch []session.Session
	buf   []byte
	enc   wire.Encoder
}

// New returns a Sender for cfg with defaults filled in. It does not connect;
// Run does.
func New(cfg Config) *Sender {
	cfg = cfg.withDefaults()
	s := &Sender{
		cfg:   cfg,
		log:   cfg.Logger.With("collector", cfg.Addr),
		ring:  make([]session.Session, cfg.Spool),
		first: 1, // seq 0 is "nothing": the first session is seq 1
		next:  1,
		wake:  make(chan struct{}, 1),
		ackCh: make(chan struct{}),
		batch: make([]session.Session, writeBatch),
	}
	s.sendPos = 1
	s.space.L = &s.mu
	return s
}

// Config returns the configuration in use, defaults filled in.
func (s *Sender) Config() Config { return s.cfg }

// Send assigns the next seq to sess and copies it into the spool; sess may be
// reused as soon as Send returns. When the spool is full, Send drops the
// oldest session (Block=false) or waits for acks (Block=true). Once Run has
// returned, Send never waits: it drops the oldest instead, so a capture loop
// cannot hang on a stopped sender.
// With ShedUnanswered (and without Block), a session that is not answered
// is counted and not spooled while the spool is half full or more.
func (s *Sender) Send(sess *session.Session) {
	s.mu.Lock()
	size := uint64(len(s.ring))
	if s.cfg.ShedUnanswered && !s.cfg.Block && !sess.Answered && s.next-s.first >= size-size/2 {
		s.shed++
		s.mu.Unlock()
		return
	}
	for s.next-s.first >= size {
		if !s.cfg.Block || s.stopped {
			s.first++
			s.lost++
			break
		}
		s.space.Wait()
	}
	s.ring[s.next%size] = *sess
	s.next++
	if s.idle {
		s.idle = false
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
}

// SendStats hands the latest stats to the writer, which sends them soon. Only
// the newest stats matter, so they are not spooled: stats given while
// disconnected replace each other. Sent, Acked, Lost and Spooled are filled
// in by the Sender when the line is written.
func (s *Sender) SendStats(st *wire.Stats) {
	s.mu.Lock()
	s.stats = *st
	s.statsPending = true
	if s.idle {
		s.idle = false
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
}

// Flush waits until every session passed to Send before the call is
// acknowledged (or was lost from a full spool). It fails when ctx ends first
// or when the Sender is stopped, saying how many sessions are unacknowledged.
func (s *Sender) Flush(ctx context.Context) error {
	s.mu.Lock()
	target := s.next - 1
	for s.acked < target {
		if s.stopped {
			n := s.unackedLocked(target)
			s.mu.Unlock()
			return fmt.Errorf("sender stopped with %d sessions not acknowledged by the collector at %s", n, s.cfg.Addr)
		}
		ch := s.ackCh
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			s.mu.Lock()
			n, acked, err := s.unackedLocked(target), s.acked, s.err
			s.mu.Unlock()
			if err != nil {
				return fmt.Errorf("%d sessions not acknowledged by the collector at %s (acked up to seq %d of %d; last error: %v): %w",
					n, s.cfg.Addr, acked, target, err, ctx.Err())
			}
			return fmt.Errorf("%d sessions not acknowledged by the collector at %s (acked up to seq %d of %d): %w",
				n, s.cfg.Addr, acked, target, ctx.Err())
		}
		s.mu.Lock()
	}
	s.mu.Unlock()
	return nil
}

// unackedLocked counts the spooled sessions up to seq target.
func (s *Sender) unackedLocked(target uint64) uint64 {
	lo := max(s.acked+1, s.first)
	if target < lo {
		return 0
	}
	return target - lo + 1
}

// Counters returns a snapshot of the Sender's counters.
func (s *Sender) Counters() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Counters{
		Seq:        s.next - 1,
		Sent:       s.sent.Load(),
		Acked:      s.acked,
		Lost:       s.lost,
		Shed:       s.shed,
		Spooled:    s.next - s.first,
		Reconnects: s.reconnects,
		Connected:  s.connected,
	}
}

// Err returns why the Sender is not connected: the last dial, handshake or
// stream error, a *RejectedError when the collector refused the hello. It is
// nil while connected and before the first attempt.
func (s *Sender) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// ackTo records an ack for every seq up to seq. It reports false when seq is
// beyond anything written, which only a broken collector sends.
func (s *Sender) ackTo(wireSeq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if wireSeq < s.offset {
		return true // from before a renumbering: covered by the welcome
	}
	seq := wireSeq - s.offset
	if seq <= s.acked {
		return true
	}
	if seq > s.written {
		return false
	}
	s.acked = seq
	s.first = max(s.first, seq+1)
	// A collector may commit lines of an earlier connection after its
	// welcome: never resend what it has acknowledged since.
	s.sendPos = max(s.sendPos, seq+1)
	s.ackWaitSince = time.Now()
	s.notifyAckLocked()
	return true
}

func (s *Sender) notifyAckLocked() {
	close(s.ackCh)
	s.ackCh = make(chan struct{})
	s.space.Broadcast()
}
