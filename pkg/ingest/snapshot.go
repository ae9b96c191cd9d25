package ingest

import (
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// Error kinds counted in Snapshot.ErrorsByKind. Every line or connection the
// server refuses is counted under exactly one of them, and also in
// Snapshot.ProcessingErrors.
const (
	ErrKindSyntax       = "syntax"        // not a flat JSON object
	ErrKindField        = "field"         // wrong type, missing field, invalid IP, out-of-range number
	ErrKindOversize     = "oversize"      // a line over wire.MaxLine bytes, skipped
	ErrKindUnexpected   = "unexpected"    // a valid message that has no place here (a second hello, an ack)
	ErrKindHandshake    = "handshake"     // first line not a hello: the peer is not a worker
	ErrKindProtocol     = "protocol"      // hello with a protocol version this collector does not speak
	ErrKindAuth         = "auth"          // hello with a wrong or missing token
	ErrKindHelloTimeout = "hello_timeout" // connected and said nothing
	ErrKindIdleTimeout  = "idle_timeout"  // a worker went silent longer than the idle timeout
	ErrKindOverCapacity = "over_capacity" // refused: --max-connections reached
	ErrKindCommit       = "commit"        // a batch commit that failed and is being retried
)

// Snapshot is a consistent-enough copy of the server's statistics: every
// field is read atomically, though not all at the same instant.
type Snapshot struct {
	Started time.Time
	Uptime  time.Duration

	// TotalReceived counts session lines that decoded; TotalProcessed those
	// the writer has taken off the queue (added to a batch or skipped as
	// duplicates). QueueSize is what waits in between.
	TotalReceived  uint64
	TotalProcessed uint64
	QueueSize      int
	QueueCapacity  int

	// ProcessingErrors counts every refused line or connection; ErrorsByKind
	// breaks it down by the ErrKind* constants.
	ProcessingErrors uint64
	ErrorsByKind     map[string]uint64

	// Store outcomes. TotalInserted and TotalUpdated count rows (one per
	// client and interface), not sessions; CommittedSessions counts sessions.
	TotalInserted     uint64
	TotalUpdated      uint64
	CommittedSessions uint64
	DuplicatesSkipped uint64
	BatchesCommitted  uint64
	LastBatchDuration time.Duration
	LastBatchSize     int // sessions in the last committed batch
	LastBatchRows     int // rows it touched
	LastCommitAt      time.Time
	// LastCommitError is the error of the latest failed commit attempt, empty
	// once a commit succeeds again; CommitFailures counts failed attempts.
	LastCommitError string
	CommitFailures  uint64

	ConnectedWorkers int
	Connections      int // open TCP connections, including ones still in hello
	Workers          []WorkerSnapshot

	ListenerUp  bool
	WriterAlive bool
}

// WorkerSnapshot describes one worker run (one worker_id) the server has seen
// since it started. Disconnected workers stay listed for a while so that an
// operator can see a worker that went away.
type WorkerSnapshot struct {
	WorkerID    string
	Interface   string
	RemoteAddr  string
	Connected   bool
	ConnectedAt time.Time // of the current (or last) connection
	LastSeen    time.Time // last line of any type
	Connections int       // how many times this worker has connected

	// Received counts session lines received from this worker over all its
	// connections, resent ones included; LastSeq is the highest seq received.
	// Acked is the highest seq committed; Lag = LastSeq − Acked, the sessions
	// received but not yet committed.
	Received uint64
	LastSeq  uint64
	Acked    uint64
	Lag      uint64

	// Stats is the worker's latest stats line and StatsAt when it arrived;
	// zero until the first one.
	Stats   wire.Stats
	StatsAt time.Time
}
