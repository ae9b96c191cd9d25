package supervisor

import (
	"os"
	"path/filepath"
	"time"
)

// Defaults for the zero durations and counts of Config.
const (
	DefaultStopTimeout      = 15 * time.Second
	DefaultRunningAfter     = 2 * time.Second
	DefaultBackoffMin       = time.Second
	DefaultBackoffMax       = time.Minute
	DefaultMaxRestarts      = 5
	DefaultRestartWindow    = 5 * time.Minute
	DefaultLogMaxBytes      = 10 << 20
	DefaultLogBackups       = 3
	DefaultLogCheckInterval = 5 * time.Second
	DefaultLogTailLines     = 20
	DefaultPollInterval     = 500 * time.Millisecond
)

// Default directories: the system ones when running as root (as under the
// systemd unit, which passes them explicitly anyway), else beside the
// collector's default database in ./data, so an unprivileged run by hand
// needs no setup.
const (
	SystemPIDDir = "/run/ntp-monitor"
	SystemLogDir = "/var/log/ntp-monitor"
	LocalPIDDir  = "data/run"
	LocalLogDir  = "data/log"
)

// DefaultPIDDir is SystemPIDDir for root, LocalPIDDir otherwise.
func DefaultPIDDir() string {
	if os.Geteuid() == 0 {
		return SystemPIDDir
	}
	return LocalPIDDir
}

// DefaultLogDir is SystemLogDir for root, LocalLogDir otherwise.
func DefaultLogDir() string {
	if os.Geteuid() == 0 {
		return SystemLogDir
	}
	return LocalLogDir
}

// DefaultWorkerBin is ntp-worker in the directory of the running executable
// (bin/ next to bin/ntp-collector, /usr/local/bin next to
// /usr/local/bin/ntp-collector), or plain "ntp-worker" when the executable's
// path cannot be found.
func DefaultWorkerBin() string {
	exe, err := os.Executable()
	if err != nil {
		return "ntp-worker"
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	return filepath.Join(filepath.Dir(exe), "ntp-worker")
}
