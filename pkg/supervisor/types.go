package supervisor

import (
	"log/slog"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
)

// State is where a supervised worker is in its life.
type State string

// Worker states.
const (
	// StateStarting: the process was spawned and has not yet stayed up for
	// Config.RunningAfter.
	StateStarting State = "starting"
	// StateRunning: the process is up (spawned by us, or adopted).
	StateRunning State = "running"
	// StateBackingOff: the process exited unexpectedly and will be restarted
	// after a delay.
	StateBackingOff State = "backing-off"
	// StateStopped: no worker, and none wanted.
	StateStopped State = "stopped"
	// StateFailed: restarted too often in the restart window; given up until
	// the next Start. LastLogLines says why.
	StateFailed State = "failed"
)

// Active reports whether a worker in this state is (or will again be) running.
func (s State) Active() bool {
	return s == StateStarting || s == StateRunning || s == StateBackingOff
}

// Options are a worker's capture settings. A zero field means the worker's own
// default and is not passed on its command line.
type Options struct {
	Port       int     `json:"port,omitempty"`        // NTP server port to watch, 1–65535 (worker default 123)
	Timeout    float64 `json:"timeout,omitempty"`     // seconds before a request counts as unanswered, 0.001–3600
	Snaplen    int     `json:"snaplen,omitempty"`     // bytes captured per packet, 64–65535
	BufferSize int     `json:"buffer_size,omitempty"` // kernel capture buffer in bytes, 64 KiB – 1 GiB
}

// Exit describes how a worker process ended.
type Exit struct {
	Time time.Time `json:"time"`
	// Code is the exit status, -1 when the process was killed by a signal or
	// the status is unknown (an adopted process is not our child).
	Code   int    `json:"code"`
	Signal string `json:"signal,omitempty"` // e.g. "killed", "terminated"
	// Error is set when the process could not be started or its status could
	// not be read.
	Error string `json:"error,omitempty"`
	// Expected is true when the supervisor asked the worker to stop.
	Expected bool `json:"expected"`
}

// CaptureStats is the worker's latest stats line as the ingestion server
// received it.
type CaptureStats struct {
	At time.Time `json:"at"` // when the line arrived
	CaptureCounters
}

// CaptureCounters are the counters of a worker's stats line that a status
// shows. Their fields are wire.Stats's, in its order, so that a stats line
// converts in one step: a field added to wire.Stats does not compile here
// until it is given a JSON name or hidden. The hidden ones are in Go only.
type CaptureCounters struct {
	Time           time.Time `json:"-"` // the worker's clock; At is the collector's
	Packets        uint64    `json:"packets"`
	KernelReceived uint64    `json:"kernel_received"`
	KernelDrops    uint64    `json:"kernel_drops"`
	InterfaceDrops uint64    `json:"interface_drops"`
	DecodeErrors   uint64    `json:"decode_errors"`
	Pending        uint64    `json:"pending"`
	Evicted        uint64    `json:"-"`
	Sessions       uint64    `json:"sessions"`
	Answered       uint64    `json:"answered"`
	Unanswered     uint64    `json:"unanswered"`
	OtherModes     uint64    `json:"-"`
	Unmatched      uint64    `json:"-"`
	Sent           uint64    `json:"sent"`
	Acked          uint64    `json:"acked"`
	Lost           uint64    `json:"lost"`
	Spooled        uint64    `json:"spooled"`
}

// Status is a snapshot of one supervised worker.
type Status struct {
	Interface string  `json:"interface"`
	State     State   `json:"state"`
	PID       int     `json:"pid,omitempty"` // 0 when no process is up
	Adopted   bool    `json:"adopted"`       // the process was started by an earlier collector run
	Options   Options `json:"options"`
	// StartedAt is when the current process started; Uptime is measured
	// from it (seconds).
	StartedAt *time.Time `json:"started_at,omitempty"`
	Uptime    float64    `json:"uptime_seconds"`
	// Restarts counts unplanned restarts since the last Start.
	Restarts int   `json:"restarts"`
	LastExit *Exit `json:"last_exit,omitempty"`
	// Argv is the exact command line the worker was (or will be) started
	// with; the token is not in it.
	Argv            []string `json:"argv"`
	IngestionTarget string   `json:"ingestion_target"` // host:port the worker sends to
	LogFile         string   `json:"log_file"`
	// LastLogLines is the tail of the worker's log, filled when the worker
	// exited unexpectedly (backing-off, failed).
	LastLogLines []string      `json:"last_log_lines,omitempty"`
	Stats        *CaptureStats `json:"stats,omitempty"`
}

// InterfaceInfo is one of the host's network interfaces with its monitoring
// state.
type InterfaceInfo struct {
	Name         string   `json:"name"`
	Index        int      `json:"index"`
	MTU          int      `json:"mtu"`
	HardwareAddr string   `json:"hardware_addr,omitempty"`
	Flags        []string `json:"flags"`     // e.g. "up", "broadcast", "loopback", "running", "multicast"
	Addresses    []string `json:"addresses"` // CIDR notation
	Up           bool     `json:"up"`
	// Monitoring is the supervised worker's state, StateStopped when none.
	Monitoring State `json:"monitoring"`
	PID        int   `json:"pid,omitempty"`
}

// LogValue makes an Exit read well in log lines.
func (e Exit) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Int("code", e.Code), slog.Bool("expected", e.Expected)}
	if e.Signal != "" {
		attrs = append(attrs, slog.String("signal", e.Signal))
	}
	if e.Error != "" {
		attrs = append(attrs, slog.String(logging.KeyErr, e.Error))
	}
	return slog.GroupValue(attrs...)
}
