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
