package apiclient

import (
	"context"
	"time"
)

// InterfaceStatistics is GET /api/ntp/history/interfaces/statistics: figures
// over the whole table, read at GeneratedAt; the percentiles of per-client
// means are ClientMeansAgeSeconds old (nil: none yet).
type InterfaceStatistics struct {
	Data                  []InterfaceStats `json:"data"`
	GeneratedAt           time.Time        `json:"generated_at"`
	ComputeMillis         float64          `json:"compute_ms"`
	MaxAgeSeconds         float64          `json:"max_age_seconds"`
	ClientMeansAgeSeconds *float64         `json:"client_means_age_seconds"`
}

// InterfaceStats are one interface's figures.
type InterfaceStats struct {
	InterfaceName         string           `json:"interface_name"`
	Clients               int64            `json:"clients"`
	ActiveClientsLastHour int64            `json:"active_clients_last_hour"`
	ActiveClientsLastDay  int64            `json:"active_clients_last_day"`
	Sessions              int64            `json:"sessions"`
	Answered              int64            `json:"answered"`
	Unanswered            int64            `json:"unanswered"`
	KoD                   int64            `json:"kod"`
	ClientsWithKoD        int64            `json:"clients_with_kod"`
	OtherModePackets      map[string]int64 `json:"other_mode_packets"`
	NTPVersions           map[string]int64 `json:"ntp_versions"`
	Latency               MetricStats      `json:"client_to_server_latency_seconds"`
	Processing            MetricStats      `json:"server_processing_time_seconds"`
	Total                 MetricStats      `json:"total_process_time_seconds"`
	FirstSeen             string           `json:"first_seen_timestamp"`
	LastSeen              string           `json:"last_seen_timestamp"`
	ClientsWithoutVersion int64            `json:"clients_without_version"`
	// Range is the interface's traffic over the request's from and to,
	// from the traffic series.
	Range *RangeTotals `json:"range"`
}

// RangeTotals is the traffic of a range of time, from the series: counts, true
// session percentiles and distinct clients over the whole range.
type RangeTotals struct {
	From            time.Time        `json:"from"`
	To              time.Time        `json:"to"`
	SeriesStart     time.Time        `json:"series_start"`
	Requests        int64            `json:"requests"`
	Answered        int64            `json:"answered"`
	Unanswered      int64            `json:"unanswered"`
	KoD             int64            `json:"kod"`
	KoDCodes        map[string]int64 `json:"kod_codes"`
	Versions        map[string]int64 `json:"versions"`
	Modes           map[string]int64 `json:"modes"`
	DistinctClients int64            `json:"distinct_clients"`
	NewClients      int64            `json:"new_clients"`
	SnaplenCut      int64            `json:"snaplen_cut"`
	Processing      Quantiles        `json:"processing_seconds"`
	Wire            Quantiles        `json:"wire_seconds"`
	Latency         Quantiles        `json:"latency_seconds"`
}

// Quantiles are a timing's percentiles in seconds; nil where there is none.
type Quantiles struct {
	P50 *float64 `json:"p50"`
	P90 *float64 `json:"p90"`
	P99 *float64 `json:"p99"`
	Max *float64 `json:"max"`
}

// MetricStats summarise one timing metric of an interface, in seconds.
type MetricStats struct {
	Sessions int64    `json:"sessions"`
	Clients  int64    `json:"clients"`
	Mean     *float64 `json:"mean"`
	Min      *float64 `json:"min"`
	Max      *float64 `json:"max"`
	P50      *float64 `json:"p50_of_client_means"`
	P95      *float64 `json:"p95_of_client_means"`
}

// ServiceStatistics is GET /api/ntp/history/service/statistics.
type ServiceStatistics struct {
	// Ingestion is nil when the collector runs without ingestion.
	Ingestion *Ingestion     `json:"ingestion"`
	Database  Database       `json:"database"`
	Workers   []IngestWorker `json:"workers"`
	// Range is every interface's traffic over from and to.
	Range *RangeTotals `json:"range"`
}

// Ingestion are the collector's ingestion counters since it started.
type Ingestion struct {
	Started          time.Time        `json:"started"`
	UptimeSeconds    float64          `json:"uptime_seconds"`
	TotalReceived    int64            `json:"total_received"`
	TotalProcessed   int64            `json:"total_processed"`
	QueueSize        int64            `json:"queue_size"`
	QueueCapacity    int64            `json:"queue_capacity"`
	ProcessingErrors int64            `json:"processing_errors"`
	ErrorsByKind     map[string]int64 `json:"errors_by_kind"`
	// SessionsRejected counts sessions refused for a field out of its
	// physical bounds, RejectedByReason by reason.
	SessionsRejected  int64            `json:"sessions_rejected"`
	RejectedByReason  map[string]int64 `json:"rejected_by_reason"`
	TotalInserted     int64            `json:"total_inserted"`
	TotalUpdated      int64            `json:"total_updated"`
	CommittedSessions int64            `json:"committed_sessions"`
	DuplicatesSkipped int64            `json:"duplicates_skipped"`
	BatchesCommitted  int64            `json:"batches_committed"`
	LastBatchSeconds  float64          `json:"last_batch_duration_seconds"`
	LastBatchSize     int64            `json:"last_batch_size"`
	LastBatchRows     int64            `json:"last_batch_rows"`
	LastCommitAt      string           `json:"last_commit_at"`
	LastCommitError   string           `json:"last_commit_error"`
	CommitFailures    int64            `json:"commit_failures"`
	ConnectedWorkers  int64            `json:"connected_workers"`
	Connections       int64            `json:"connections"`
	AwaitingHello     int64            `json:"connections_awaiting_hello"`
	ListenerUp        bool             `json:"listener_up"`
	WriterAlive       bool             `json:"writer_alive"`
}

// Database describes the collector's database file.
type Database struct {
	Path          string `json:"path"`
	SizeBytes     int64  `json:"size_bytes"`
	FileBytes     int64  `json:"file_bytes"`
	WALBytes      int64  `json:"wal_bytes"`
	Rows          int64  `json:"rows"`
	SchemaVersion int64  `json:"schema_version"`
}

// IngestWorker is one worker run (one worker_id) as ingestion sees it.
type IngestWorker struct {
	WorkerID    string `json:"worker_id"`
	Interface   string `json:"interface"`
	RemoteAddr  string `json:"remote_addr"`
	Connected   bool   `json:"connected"`
	ConnectedAt string `json:"connected_at"`
	LastSeen    string `json:"last_seen"`
	Connections int64  `json:"connections"`
	// TLSIdentity names the worker's client certificate under mutual TLS,
	// nil without one; Binding is what its id is bound to: "certificate",
	// "secret" or "none".
	TLSIdentity *string `json:"tls_identity"`
	Binding     string  `json:"binding"`
	// Received counts the session lines received from this worker, resent
	// ones included; it grows with every line, not with the stats lines.
	Received int64 `json:"received"`
	LastSeq  int64 `json:"last_seq"`
	Acked    int64 `json:"acked"`
	Lag      int64 `json:"lag"`
	// Capture is the worker's latest stats line, nil before the first.
	Capture *CaptureStats `json:"capture"`
}

// CaptureStats are a worker's running totals since it started, as of At.
type CaptureStats struct {
	At             time.Time `json:"at"`
	Packets        int64     `json:"packets"`
	KernelReceived int64     `json:"kernel_received"`
	KernelDrops    int64     `json:"kernel_drops"`
	InterfaceDrops int64     `json:"interface_drops"`
	DecodeErrors   int64     `json:"decode_errors"`
	Pending        int64     `json:"pending"`
	Evicted        int64     `json:"evicted"`
	Sessions       int64     `json:"sessions"`
	Answered       int64     `json:"answered"`
	Unanswered     int64     `json:"unanswered"`
	OtherModes     int64     `json:"other_modes"`
	Unmatched      int64     `json:"unmatched"`
	Sent           int64     `json:"sent"`
	Acked          int64     `json:"acked"`
	Lost           int64     `json:"lost"`
	Spooled        int64     `json:"spooled"`
}

// InterfaceStatistics reads the per-interface statistics.
func (c *Client) InterfaceStatistics(ctx context.Context) (*InterfaceStatistics, error) {
	var out InterfaceStatistics
	if err := c.get(ctx, "/api/ntp/history/interfaces/statistics", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ServiceStatistics reads the collector's ingestion, database and worker
// statistics.
func (c *Client) ServiceStatistics(ctx context.Context) (*ServiceStatistics, error) {
	var out ServiceStatistics
	if err := c.get(ctx, "/api/ntp/history/service/statistics", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
