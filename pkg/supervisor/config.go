package supervisor

import (
	"context"
	"log/slog"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// DesiredState is where the supervisor keeps which interfaces should be
// monitored and with which options; *store.Store implements it.
type DesiredState interface {
	SetMonitored(ctx context.Context, name, optionsJSON string, enabled bool) error
	Monitored(ctx context.Context) ([]store.MonitoredInterface, error)
}

// Config configures a Supervisor. WorkerBin, PIDDir, LogDir, IngestionHost
// and IngestionPort are required; zero durations and counts take the
// defaults named on each field (the Default constants).
type Config struct {
	// WorkerBin is the ntp-worker executable.
	WorkerBin string
	// PIDDir holds ntp_<iface>.pid for every running worker; LogDir holds
	// ntp_<iface>.log. Both are created (0750) when the first worker
	// starts, so a collector that never runs one leaves no trace.
	PIDDir string
	LogDir string

	// IngestionHost and IngestionPort are where workers send their sessions.
	// An unspecified address (0.0.0.0, ::, "") means the loopback address.
	IngestionHost string
	IngestionPort int
	// Token is passed to workers as NTP_TOKEN in their environment.
	Token string
	// WorkerLogLevel and WorkerLogFormat, when set, are passed on as
	// --log-level and --log-format.
	WorkerLogLevel  string
	WorkerLogFormat string
	// WorkerArgs are appended to every worker's command line, e.g.
	// "--stats-interval=2s". They are not checked here: a flag the worker
	// rejects makes it exit, which Status then shows.
	WorkerArgs []string

	// Desired persists the desired state; nil keeps it in memory only (and
	// Restore then adopts every live worker it finds).
	Desired DesiredState
	// WorkerStats returns the latest stats line received from the worker on
	// iface and when it arrived; nil leaves Status.Stats empty.
	WorkerStats func(iface string) (wire.Stats, time.Time, bool)

	// Logger receives the supervisor's logs; default slog.Default().
	Logger *slog.Logger

	// StopTimeout bounds the wait between SIGTERM and SIGKILL, long enough
	// for a worker to flush and get its acks; default 15s.
	StopTimeout time.Duration
	// RunningAfter is how long a new process must stay up to count as
	// running rather than starting; default 2s.
	RunningAfter time.Duration
	// BackoffMin and BackoffMax bound the delay before a restart, which
	// doubles with each restart inside RestartWindow; defaults 1s and 1m.
	BackoffMin time.Duration
	BackoffMax time.Duration
	// MaxRestarts unplanned restarts inside RestartWindow, and the next exit
	// makes the worker failed; defaults 5 and 5m.
	MaxRestarts   int
	RestartWindow time.Duration

	// LogMaxBytes caps a worker's log file; when it is exceeded the file is
	// rotated to .1 … .LogBackups. Defaults 10 MiB and 3. LogCheckInterval
	// is how often the size is checked; default 5s.
	LogMaxBytes      int64
	LogBackups       int
	LogCheckInterval time.Duration
	// LogTailLines is how many log lines a failed worker's status carries;
	// default 20.
	LogTailLines int

	// PollInterval is how often an adopted worker (not our child, so not
	// waitable) is checked for life; default 500ms.
	PollInterval time.Duration
}

// withDefaults returns c with every zero duration and count set to its
// default.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.StopTimeout, DefaultStopTimeout)
	def(&c.RunningAfter, DefaultRunningAfter)
	def(&c.BackoffMin, DefaultBackoffMin)
	def(&c.BackoffMax, DefaultBackoffMax)
	def(&c.RestartWindow, DefaultRestartWindow)
	def(&c.LogCheckInterval, DefaultLogCheckInterval)
	def(&c.PollInterval, DefaultPollInterval)
	if c.MaxRestarts <= 0 {
		c.MaxRestarts = DefaultMaxRestarts
	}
	if c.LogMaxBytes <= 0 {
		c.LogMaxBytes = DefaultLogMaxBytes
	}
	if c.LogBackups < 0 {
		c.LogBackups = 0
	} else if c.LogBackups == 0 {
		c.LogBackups = DefaultLogBackups
	}
	if c.LogTailLines <= 0 {
		c.LogTailLines = DefaultLogTailLines
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = c.BackoffMin
	}
	return c
}
