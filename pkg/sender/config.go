package sender

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"log/slog"
	"time"
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
	// Secret is this run's own secret, carried in every hello: the
	// collector binds WorkerID to it at the first one, so that no other
	// peer can connect as this worker. Default a new random one
	// (NewSecret); it never leaves the process otherwise.
	Secret string
	// TLS, when set, makes every connection TLS with this configuration
	// (its ServerName, or the host of Addr, names the collector); nil is
	// plaintext. The handshake counts towards DialTimeout.
	TLS *tls.Config

	// Spool is the most sessions held unacknowledged in memory; default
	// DefaultSpool.
	Spool int
	// Block decides what Send does when the spool is full: wait until acks
	// free space (reading a capture file, where nothing may be lost), or
	// drop the oldest unacknowledged session and count it as lost (live
	// capture, which must never stall).
	Block bool
	// ShedUnanswered, without Block, keeps half of the spool for answered
	// sessions: while the spool is half full or more, Send does not spool
	// a session that is not answered (an unanswered request or an
	// other-mode record) and counts it in Counters.Shed. A flood of spoofed
	// requests times out as a flood of unanswered sessions, faster than a
	// collector stores them; without this they would push the sessions of
	// the clients the server answered out of a full spool.
	ShedUnanswered bool

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
	if c.Secret == "" {
		c.Secret = NewSecret()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// NewWorkerID returns a random worker ID (32 hex digits). A new ID per run
// starts a new sequence at the collector.
func NewWorkerID() string { return randomHex(16) }

// NewSecret returns a random per-run secret (64 hex digits, 256 bits).
func NewSecret() string { return randomHex(32) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
