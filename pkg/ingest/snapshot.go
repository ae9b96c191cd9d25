package ingest

import (
	"sort"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
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

	// SessionsRejected counts sessions refused for a field out of its
	// physical bounds (session.Bounds), and RejectedByReason breaks it
	// down by session.Violation names. A refused session is acknowledged
	// like a stored one: the worker does not resend it. Resent copies are
	// counted once, as duplicates.
	SessionsRejected uint64
	RejectedByReason map[string]uint64
	// MaxClients is Config.MaxClients (0: no limit). ClientsRefused counts
	// the new rows it kept out, batch by batch (a client refused in two
	// batches counts twice); their sessions are in RejectedByReason under
	// RejectClientLimit and RejectClientLimitAnswered.
	MaxClients     int64
	ClientsRefused uint64

	ConnectedWorkers int
	Connections      int // open TCP connections, including ones still in hello
	// AwaitingHello counts the connections that have not said hello yet
	// (at most Config.MaxUnauthenticated).
	AwaitingHello int
	Workers       []WorkerSnapshot

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
	// Identity names the client certificate of the current (or last)
	// connection under mutual TLS (tlsfiles.Identity), "" without one.
	Identity string
	// Binding is what the worker_id is bound to: BindingCertificate,
	// BindingSecret or BindingNone (a worker older than the binding).
	Binding string

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

// LatestStats returns the newest stats line any worker on iface has sent,
// and when it arrived; ok is false when none has. Workers are told apart by
// their run's worker_id only, so a worker restarted on the same interface
// (or one on another host reporting the same name) is found too.
func (s *Server) LatestStats(iface string) (st wire.Stats, at time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.workers {
		if w.iface != iface {
			continue
		}
		w.mu.Lock()
		if !w.statsAt.IsZero() && (!ok || w.statsAt.After(at)) {
			st, at, ok = w.stats, w.statsAt, true
		}
		w.mu.Unlock()
	}
	return st, at, ok
}

// Snapshot returns the current statistics.
func (s *Server) Snapshot() Snapshot {
	now := time.Now()
	snap := Snapshot{
		Started:           s.started,
		TotalReceived:     s.received.Load(),
		TotalProcessed:    s.processed.Load(),
		QueueSize:         len(s.queue),
		QueueCapacity:     cap(s.queue),
		ErrorsByKind:      make(map[string]uint64, numKinds),
		TotalInserted:     s.inserted.Load(),
		TotalUpdated:      s.updated.Load(),
		CommittedSessions: s.committedSessions.Load(),
		DuplicatesSkipped: s.duplicates.Load(),
		BatchesCommitted:  s.batches.Load(),
		CommitFailures:    s.commitFailures.Load(),
		Connections:       int(s.nconns.Load()),
		ListenerUp:        s.listenerUp.Load(),
		WriterAlive:       s.writerAlive.Load(),
	}
	snap.Uptime = now.Sub(s.started)
	for i, k := range errKinds {
		n := s.errs[i].Load()
		snap.ErrorsByKind[k] = n
		snap.ProcessingErrors += n
	}
	snap.RejectedByReason = make(map[string]uint64, session.NumViolations+1)
	for v := session.Valid + 1; int(v) < session.NumViolations; v++ {
		n := s.rejected[v].Load()
		snap.RejectedByReason[v.String()] = n
		snap.SessionsRejected += n
	}
	for i, reason := range [2]string{RejectClientLimit, RejectClientLimitAnswered} {
		n := s.rows.refusedSessions[i].Load()
		snap.RejectedByReason[reason] = n
		snap.SessionsRejected += n
	}
	snap.MaxClients = s.rows.lim.Max
	snap.ClientsRefused = s.rows.refusedRows[0].Load() + s.rows.refusedRows[1].Load()
	s.statMu.Lock()
	snap.LastBatchDuration = s.lastBatchDur
	snap.LastBatchSize = s.lastBatchSize
	snap.LastBatchRows = s.lastBatchRows
	snap.LastCommitAt = s.lastCommitAt
	snap.LastCommitError = s.lastCommitErr
	s.statMu.Unlock()

	s.mu.Lock()
	snap.AwaitingHello = s.waiting.Len()
	snap.Workers = make([]WorkerSnapshot, 0, len(s.workers))
	for _, w := range s.workers {
		ws := w.snapshot()
		if ws.Connected {
			snap.ConnectedWorkers++
		}
		snap.Workers = append(snap.Workers, ws)
	}
	s.mu.Unlock()
	sort.Slice(snap.Workers, func(i, j int) bool { return snap.Workers[i].WorkerID < snap.Workers[j].WorkerID })
	return snap
}
