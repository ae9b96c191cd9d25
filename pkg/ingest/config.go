package ingest

import (
	"log/slog"
	"net"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/stream"
	"github.com/ntp-monitor/ntp-monitor/pkg/tlsfiles"
)

// Defaults for the zero fields of Config.
const (
	DefaultMaxConnections = 256
	// DefaultMaxUnauthenticated is the default of MaxUnauthenticated.
	DefaultMaxUnauthenticated = 32
	DefaultBatchSize          = 100
	// DefaultMaxBatchSize is the least default of MaxBatchSize, which is
	// at least BatchSize.
	DefaultMaxBatchSize  = 50000
	DefaultBatchInterval = 5 * time.Second
	// DefaultQueueSize is the least default of QueueSize, which is at
	// least BatchSize.
	DefaultQueueSize       = 10000
	DefaultHelloTimeout    = 5 * time.Second
	DefaultIdleTimeout     = 2 * time.Minute
	DefaultShutdownTimeout = 10 * time.Second
	DefaultStuckAfter      = 30 * time.Second
	DefaultWorkerRetention = time.Hour
)

// Config configures a Server. A zero field means the default named on it.
type Config struct {
	// Addr is the host:port to listen on, unless Listener is set.
	Addr string
	// Listener, when set, is used instead of listening on Addr: bind it
	// with Listen before opening anything slow, so that a port already in
	// use is reported first.
	Listener net.Listener
	// Token, when set, must be presented in every hello. It is compared
	// by its SHA-256 digest in constant time, which tells a guesser
	// neither how much of it was right nor how long it is.
	Token string
	// TLSCert, when set, makes the listener speak TLS 1.3 only, with this
	// certificate (reloaded as its files change: see package tlsfiles). A
	// peer that speaks plaintext gets nothing back and is counted
	// (ErrKindPlaintext).
	TLSCert *tlsfiles.Certificate
	// TLSClientCAs, when set (with TLSCert), makes TLS mutual: a worker
	// must present a client certificate signed by one of these CAs, or the
	// server's own certificate (what the collector gives the workers it
	// starts itself), and the certificate's name (tlsfiles.Identity) is the
	// worker's identity: logged, shown in Snapshot and bound to its
	// worker_id.
	TLSClientCAs *tlsfiles.Pool
	// MaxConnections caps the connections of workers that have said hello;
	// further workers get an error line and are closed. Default
	// DefaultMaxConnections.
	MaxConnections int
	// MaxUnauthenticated caps the connections that have not said hello
	// yet, apart from MaxConnections, so that idle or slow peers cannot
	// take the workers' slots: when it is reached, the oldest of them is
	// closed to make room (ErrKindHelloEvicted). Default
	// DefaultMaxUnauthenticated.
	MaxUnauthenticated int
	// MaxClients, when above 0, caps the rows of the client table (one per
	// client address and interface), which a flood of spoofed source
	// addresses would otherwise grow without end: existing rows are always
	// updated, a new client with an answered session is stored while the
	// table holds fewer than MaxClients rows, any other new client while
	// it holds fewer than MaxClients − a tenth (store.ClientLimit). The
	// sessions of refused clients are acknowledged, not stored, and
	// counted by Snapshot.RejectedByReason under RejectClientLimit and
	// RejectClientLimitAnswered. Default 0: no limit.
	MaxClients int64
	// Bounds are the physical limits every session is checked against; a
	// session outside them is refused, counted by reason in
	// Snapshot.RejectedByReason, and acknowledged all the same so that the
	// worker does not resend it.
	Bounds session.Bounds
	// BatchSize closes a batch at this many sessions; default
	// DefaultBatchSize. While the previous batch is still committing, the
	// next one keeps filling up to MaxBatchSize: a busy disk then writes
	// more per transaction instead of pushing back on the workers (group
	// commit).
	BatchSize int
	// MaxBatchSize bounds that growth. Default max(BatchSize,
	// DefaultMaxBatchSize); keep it well below the workers' --spool, which
	// holds every unacknowledged session.
	MaxBatchSize int
	// BatchInterval closes a batch this long after its first session.
	// Default DefaultBatchInterval.
	BatchInterval time.Duration
	// QueueSize is the capacity, in sessions, of the queue between the
	// connection readers and the writer. When it is full the readers stop
	// reading and TCP pushes back on the workers. Default
	// max(DefaultQueueSize, BatchSize): with one batch committing and one
	// filling, more buffer adds memory (about 250 bytes a session), not
	// throughput.
	QueueSize int
	// HelloTimeout closes a peer that has not finished its TLS handshake
	// and sent its hello in time. Default DefaultHelloTimeout.
	HelloTimeout time.Duration
	// IdleTimeout closes a worker that sends nothing (workers send stats
	// every few seconds even when idle). Default DefaultIdleTimeout.
	IdleTimeout time.Duration
	// ShutdownTimeout bounds the drain on shutdown: the last commit is
	// retried until then, and acks get what remains. Default
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// StuckAfter makes Health fail when one batch has been failing to
	// commit (or committing) for longer. Default DefaultStuckAfter.
	StuckAfter time.Duration
	// WorkerRetention is how long a disconnected worker stays in Snapshot.
	// Default DefaultWorkerRetention.
	WorkerRetention time.Duration
	// Logger receives the server's logs; default slog.Default().
	Logger *slog.Logger
	// OnBatch, when set, is called by the writer after every committed
	// batch with its session and row counts and the commit duration. It
	// must not block.
	OnBatch func(sessions, rows int, d time.Duration)
	// OnCommit, when set, is called by the writer after every committed
	// batch, after OnBatch, with the batch: its Series is what the commit
	// added to the traffic series (no duplicate and no session refused by
	// Bounds is in it). It must not block nor keep the batch, which is
	// reset and reused once it returns.
	OnCommit func(*store.Batch)
	// Stream, when set, receives the sessions of every committed batch,
	// after the acks, for live subscribers (GET /api/ntp/stream). While
	// it has none the writer keeps no copy of the sessions.
	Stream *stream.Broadcaster
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxUnauthenticated <= 0 {
		c.MaxUnauthenticated = DefaultMaxUnauthenticated
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchInterval <= 0 {
		c.BatchInterval = DefaultBatchInterval
	}
	if c.MaxBatchSize < c.BatchSize {
		c.MaxBatchSize = max(c.BatchSize, DefaultMaxBatchSize)
	}
	if c.QueueSize <= 0 {
		c.QueueSize = max(DefaultQueueSize, c.BatchSize)
	}
	if c.HelloTimeout <= 0 {
		c.HelloTimeout = DefaultHelloTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.StuckAfter <= 0 {
		c.StuckAfter = DefaultStuckAfter
	}
	if c.WorkerRetention <= 0 {
		c.WorkerRetention = DefaultWorkerRetention
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
