// Package sender is the worker's side of the worker → collector protocol
// (package wire): it numbers every session, holds it in a bounded in-memory
// spool until the collector acknowledges it, and keeps one TCP connection to
// the collector alive, resending what was not acknowledged after every
// reconnect.
//
// The capture loop calls Send for every session; Send only copies the
// session into the spool under a mutex, so it costs tens of nanoseconds and
// never allocates. Encoding, writing and reading acks happen in Run's
// goroutines.
package sender

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// Defaults for the zero values of Config.
const (
	DefaultSpool        = 100_000
	DefaultMinBackoff   = 500 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
	DefaultDialTimeout  = 10 * time.Second
	DefaultWriteTimeout = 30 * time.Second
	// The collector acknowledges at least every batch interval (5 s by
	// default); six times that without an ack while sessions are
	// outstanding means the collector is gone.
	DefaultAckTimeout = 30 * time.Second
)

// Config configures a Sender. Only Addr is required; a zero field means the
// default named on it.
type Config struct {
	Addr      string // host:port of the collector
	WorkerID  string // default a new random one (NewWorkerID)
	Interface string // carried in hello
	Token     string // carried in hello; checked by the collector when it has one

	// Spool is the most sessions held unacknowledged in memory; default
	// DefaultSpool.
	Spool int
	// Block decides what Send does when the spool is full: wait until acks
	// free space (reading a capture file, where nothing may be lost), or
	// drop the oldest unacknowledged session and count it as lost (live
	// capture, which must never stall).
	Block bool

	// Reconnects wait an exponentially growing delay between MinBackoff and
	// MaxBackoff, with jitter so that many workers do not reconnect in step;
	// defaults DefaultMinBackoff and DefaultMaxBackoff (at least MinBackoff).
	MinBackoff, MaxBackoff time.Duration
	// DialTimeout bounds the dial and the hello/welcome exchange; default
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// WriteTimeout bounds every write to the collector; default
	// DefaultWriteTimeout.
	WriteTimeout time.Duration
	// AckTimeout is how long sessions may stay outstanding without any ack
	// before the connection is declared dead; default DefaultAckTimeout.
	AckTimeout time.Duration

	// Logger receives the sender's logs; default slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Spool <= 0 {
		c.Spool = DefaultSpool
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.WorkerID == "" {
		c.WorkerID = NewWorkerID()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// NewWorkerID returns a random worker ID (32 hex digits). A new ID per run
// starts a new sequence at the collector.
func NewWorkerID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// Counters is a snapshot of a Sender's progress.
type Counters struct {
	Seq        uint64 // sessions passed to Send so far; the n-th one has seq n
	Sent       uint64 // session lines written to the collector, resends included
	Acked      uint64 // highest seq the collector acknowledged (seqs as in Seq)
	Lost       uint64 // sessions dropped from a full spool (Block=false)
	Spooled    uint64 // sessions held for resend right now
	Reconnects uint64 // connections established after the first one
	Connected  bool   // welcomed by the collector and streaming
}

// RejectedError is the collector's answer to a hello it refused, for example
// for a wrong token.
type RejectedError struct {
	Addr    string
	Message string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("collector at %s rejected the worker: %s", e.Addr, e.Message)
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
func (s *Sender) Send(sess *session.Session) {
	s.mu.Lock()
	size := uint64(len(s.ring))
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
