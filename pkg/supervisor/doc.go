// Package supervisor starts, watches and stops one ntp-worker process per
// network interface on behalf of the collector.
//
// A worker is spawned with os/exec from an argv (never through a shell), its
// token travels in the environment so it does not show in ps, and its output
// goes to <log-dir>/ntp_<iface>.log, which the supervisor caps and rotates.
// A worker that exits without being asked to is restarted with exponential
// backoff; after too many restarts in a window it is reported as failed with
// the last lines of its log. Which interfaces should be monitored, and with
// which options, is kept in the collector's database, so a restarted
// collector brings its workers back, adopting the ones of an earlier run that
// are still alive (found through their PID files).
//
// Requests come from the collector's HTTP API (package httpapi); the desired
// state goes to the store through Config.Desired, and the workers' latest
// stats lines come from ingestion through Config.WorkerStats. The
// supervisor never reads a worker's sessions, and never runs anything but
// Config.WorkerBin.
//
// # Files
//
// supervisor.go holds the Supervisor and its Start and Stop; status.go what
// it reports; state.go a worker's states and exits; process.go a worker's
// run loop (spawn, wait, restart, stop); restore.go the adoption of an
// earlier run's workers; files.go the PID and log files; options.go and
// name.go the checks of a request; config.go and defaults.go its settings.
package supervisor
