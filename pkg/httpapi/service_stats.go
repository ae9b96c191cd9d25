package httpapi

// GET /api/ntp/history/service/statistics: the collector's ingestion, its
// database file and each connected worker's counters.

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

type workerJSON struct {
	WorkerID    string  `json:"worker_id"`
	Interface   string  `json:"interface"`
	RemoteAddr  string  `json:"remote_addr"`
	Connected   bool    `json:"connected"`
	ConnectedAt string  `json:"connected_at"`
	LastSeen    string  `json:"last_seen"`
	Connections int     `json:"connections"`
	TLSIdentity *string `json:"tls_identity"`
	Binding     string  `json:"binding"`
	Received    uint64  `json:"received"`
	LastSeq     uint64  `json:"last_seq"`
	Acked       uint64  `json:"acked"`
	Lag         uint64  `json:"lag"`
	Capture     *statsJ `json:"capture"`
}

type statsJ struct {
	At             string `json:"at"`
	Packets        uint64 `json:"packets"`
	KernelReceived uint64 `json:"kernel_received"`
	KernelDrops    uint64 `json:"kernel_drops"`
	InterfaceDrops uint64 `json:"interface_drops"`
	DecodeErrors   uint64 `json:"decode_errors"`
	Pending        uint64 `json:"pending"`
	Evicted        uint64 `json:"evicted"`
	Sessions       uint64 `json:"sessions"`
	Answered       uint64 `json:"answered"`
	Unanswered     uint64 `json:"unanswered"`
	OtherModes     uint64 `json:"other_modes"`
	Unmatched      uint64 `json:"unmatched"`
	Sent           uint64 `json:"sent"`
	Acked          uint64 `json:"acked"`
	Lost           uint64 `json:"lost"`
	Spooled        uint64 `json:"spooled"`
}

type ingestionJSON struct {
	Started           string            `json:"started"`
	UptimeSeconds     float64           `json:"uptime_seconds"`
	TotalReceived     uint64            `json:"total_received"`
	TotalProcessed    uint64            `json:"total_processed"`
	QueueSize         int               `json:"queue_size"`
	QueueCapacity     int               `json:"queue_capacity"`
	ProcessingErrors  uint64            `json:"processing_errors"`
	ErrorsByKind      map[string]uint64 `json:"errors_by_kind"`
	SessionsRejected  uint64            `json:"sessions_rejected"`
	RejectedByReason  map[string]uint64 `json:"rejected_by_reason"`
	TotalInserted     uint64            `json:"total_inserted"`
	TotalUpdated      uint64            `json:"total_updated"`
	CommittedSessions uint64            `json:"committed_sessions"`
	DuplicatesSkipped uint64            `json:"duplicates_skipped"`
	BatchesCommitted  uint64            `json:"batches_committed"`
	LastBatchSeconds  float64           `json:"last_batch_duration_seconds"`
	LastBatchSize     int               `json:"last_batch_size"`
	LastBatchRows     int               `json:"last_batch_rows"`
	LastCommitAt      string            `json:"last_commit_at"`
	LastCommitError   string            `json:"last_commit_error"`
	CommitFailures    uint64            `json:"commit_failures"`
	ConnectedWorkers  int               `json:"connected_workers"`
	Connections       int               `json:"connections"`
	AwaitingHello     int               `json:"connections_awaiting_hello"`
	ListenerUp        bool              `json:"listener_up"`
	WriterAlive       bool              `json:"writer_alive"`
}

type databaseJSON struct {
	Path          string `json:"path"`
	SizeBytes     int64  `json:"size_bytes"`
	FileBytes     int64  `json:"file_bytes"`
	WALBytes      int64  `json:"wal_bytes"`
	Rows          int64  `json:"rows"`
	SchemaVersion int    `json:"schema_version"`
}

type serviceStatsResponse struct {
	Ingestion *ingestionJSON `json:"ingestion"`
	Database  databaseJSON   `json:"database"`
	Workers   []workerJSON   `json:"workers"`
	// Range is the traffic of every interface over from and to, from the
	// series; distinct clients are distinct addresses.
	Range *rangeJSON `json:"range"`
}

func timeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// GET /api/ntp/history/service/statistics
func (s *Server) serviceStatistics(c *gin.Context) {
	q, err := newQuery(c, "from", "to")
	if err != nil {
		badRequest(c, err)
		return
	}
	tot, rng, err := s.seriesRange(c.Request.Context(), q)
	if err != nil {
		s.rangeFailed(c, err)
		return
	}
	db, err := s.cfg.Store.Stats(c.Request.Context())
	if err != nil {
		s.internalError(c, "database statistics", err)
		return
	}
	resp := serviceStatsResponse{
		Database: databaseJSON{Path: db.Path, SizeBytes: db.SizeBytes(), FileBytes: db.FileBytes, WALBytes: db.WALBytes, Rows: db.Rows, SchemaVersion: db.SchemaVersion},
		Workers:  []workerJSON{},
		Range:    rangeOf(rng, mergeAll(tot)),
	}
	if s.cfg.Ingest != nil {
		sn := s.cfg.Ingest.Snapshot()
		errs, rejected := sn.ErrorsByKind, sn.RejectedByReason
		if errs == nil {
			errs = map[string]uint64{}
		}
		if rejected == nil {
			rejected = map[string]uint64{}
		}
		resp.Ingestion = &ingestionJSON{
			Started: timeOrEmpty(sn.Started), UptimeSeconds: sn.Uptime.Seconds(),
			TotalReceived: sn.TotalReceived, TotalProcessed: sn.TotalProcessed,
			QueueSize: sn.QueueSize, QueueCapacity: sn.QueueCapacity,
			ProcessingErrors: sn.ProcessingErrors, ErrorsByKind: errs,
			SessionsRejected: sn.SessionsRejected, RejectedByReason: rejected,
			TotalInserted: sn.TotalInserted, TotalUpdated: sn.TotalUpdated, CommittedSessions: sn.CommittedSessions,
			DuplicatesSkipped: sn.DuplicatesSkipped, BatchesCommitted: sn.BatchesCommitted,
			LastBatchSeconds: sn.LastBatchDuration.Seconds(), LastBatchSize: sn.LastBatchSize, LastBatchRows: sn.LastBatchRows,
			LastCommitAt: timeOrEmpty(sn.LastCommitAt), LastCommitError: sn.LastCommitError, CommitFailures: sn.CommitFailures,
			ConnectedWorkers: sn.ConnectedWorkers, Connections: sn.Connections, AwaitingHello: sn.AwaitingHello,
			ListenerUp: sn.ListenerUp, WriterAlive: sn.WriterAlive,
		}
		for _, w := range sn.Workers {
			wj := workerJSON{WorkerID: w.WorkerID, Interface: w.Interface, RemoteAddr: w.RemoteAddr, Connected: w.Connected,
				ConnectedAt: timeOrEmpty(w.ConnectedAt), LastSeen: timeOrEmpty(w.LastSeen), Connections: w.Connections,
				Binding: w.Binding, Received: w.Received, LastSeq: w.LastSeq, Acked: w.Acked, Lag: w.Lag}
			if w.Identity != "" {
				wj.TLSIdentity = &w.Identity
			}
			if !w.StatsAt.IsZero() {
				st := w.Stats
				wj.Capture = &statsJ{At: timeOrEmpty(w.StatsAt), Packets: st.Packets, KernelReceived: st.KernelReceived,
					KernelDrops: st.KernelDrops, InterfaceDrops: st.InterfaceDrops, DecodeErrors: st.DecodeErrors,
					Pending: st.Pending, Evicted: st.Evicted, Sessions: st.Sessions, Answered: st.Answered,
					Unanswered: st.Unanswered, OtherModes: st.OtherModes, Unmatched: st.Unmatched, Sent: st.Sent,
					Acked: st.Acked, Lost: st.Lost, Spooled: st.Spooled}
			}
			resp.Workers = append(resp.Workers, wj)
		}
	}
	s.writeJSON(c, http.StatusOK, resp)
}
