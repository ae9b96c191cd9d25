package supervisor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
)

// identity is what a PID file turned out to point at.
type identity int

const (
	idGone      identity = iota // no such process, or a zombie
	idStranger                  // alive, but not a worker of ours for that interface
	idOurs                      // our worker binary, capturing on that interface
	idOldBinary                 // our worker path, but the file was replaced since (upgrade)
)

// identify checks whether pid is the worker binary running on iface: its
// /proc/<pid>/exe must be the same file as WorkerBin and its command line
// must carry --interface=<iface>.
func (s *Supervisor) identify(pid int, iface string) (identity, []string) {
	st, err := procState(pid)
	if err != nil || st == 'Z' || st == 'X' {
		return idGone, nil
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return idGone, nil
	}
	args := strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00")
	if !hasInterfaceArg(args, iface) {
		return idStranger, args
	}
	exe := fmt.Sprintf("/proc/%d/exe", pid)
	target, err := os.Readlink(exe)
	if err != nil {
		return idStranger, args
	}
	if old, ok := strings.CutSuffix(target, " (deleted)"); ok && old == s.cfg.WorkerBin {
		return idOldBinary, args
	}
	a, err1 := os.Stat(exe)
	b, err2 := os.Stat(s.cfg.WorkerBin)
	if err1 != nil || err2 != nil || !os.SameFile(a, b) {
		return idStranger, args
	}
	return idOurs, args
}

func hasInterfaceArg(args []string, iface string) bool {
	for i, a := range args {
		if a == "--interface="+iface || a == "-interface="+iface {
			return true
		}
		if (a == "--interface" || a == "-interface") && i+1 < len(args) && args[i+1] == iface {
			return true
		}
	}
	return false
}

// Restore brings back the desired state after a collector start. Workers of
// an earlier run are found through the PID files: one that is alive, runs
// the same worker binary on the same interface and is still wanted is
// adopted (watched by polling, stopped by PID); a wanted one that runs an
// older build of the binary or other options is stopped and replaced; a live
// worker that is not wanted is left alone with a warning (the PID directory
// may be shared with another collector); a file naming a dead or unrelated
// process is removed. Every wanted interface without an adopted
// worker then gets a new one. Without a DesiredState every live worker found
// is adopted. Problems with one interface (gone from the host, bad options)
// are logged and show in its Status as failed; only a failure to read the
// desired state is returned.
func (s *Supervisor) Restore(ctx context.Context) error {
	want := map[string]Options{}
	if s.cfg.Desired != nil {
		list, err := s.cfg.Desired.Monitored(ctx)
		if err != nil {
			return fmt.Errorf("supervisor: reading desired state: %w", err)
		}
		for _, m := range list {
			if !m.Enabled {
				continue
			}
			var o Options
			if err := json.Unmarshal([]byte(m.Options), &o); err != nil {
				s.fail(m.Name, Options{}, fmt.Errorf("%w: stored options %q: %v", ErrInvalid, m.Options, err))
				continue
			}
			want[m.Name] = o
		}
	}

	files, err := filepath.Glob(filepath.Join(s.cfg.PIDDir, "ntp_*.pid"))
	if err != nil {
		return fmt.Errorf("supervisor: listing PID files: %w", err)
	}
	adopted := map[string]bool{}
	for _, path := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "ntp_"), ".pid")
		if err := ValidateName(name); err != nil {
			s.log.Warn("ignoring PID file with a bad interface name", "path", path)
			continue
		}
		pid, err := readPIDFile(path)
		if err != nil {
			s.log.Warn("removing unreadable PID file", "path", path, logging.KeyErr, err)
			os.Remove(path)
			continue
		}
		id, args := s.identify(pid, name)
		opts, wanted := want[name]
		if s.cfg.Desired == nil {
			wanted = true
		}
		log := s.log.With("interface", name, "pid", pid)
		switch {
		case id == idOurs && wanted && (s.cfg.Desired == nil || slices.Equal(args, s.argv(name, opts))):
			if err := s.adopt(name, pid, args, opts, path); err != nil {
				log.Error("adopting worker", logging.KeyErr, err)
				continue
			}
			adopted[name] = true
			log.Info("adopted worker of an earlier run")
		case (id == idOurs || id == idOldBinary) && !wanted:
			// Not in the desired state: the database may have been
			// replaced, or another collector shares this PID directory.
			// Killing a process on that evidence is worse than leaving it.
			log.Warn("a live worker for an interface that is not in the desired state; leaving it alone", "path", path)
		case id == idOurs || id == idOldBinary:
			why := "runs a replaced worker binary"
			if id == idOurs {
				why = "runs with other options than the desired ones"
			}
			log.Info("stopping worker of an earlier run", "reason", why)
			s.stopForeign(ctx, name, pid)
			os.Remove(path)
		default:
			log.Info("removing stale PID file", "path", path, "process", map[identity]string{idGone: "gone", idStranger: "not our worker"}[id])
			os.Remove(path)
		}
	}

	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if adopted[name] {
			continue
		}
		opts := want[name]
		err := checkInterface(name)
		if err == nil {
			err = opts.Validate()
		}
		if err == nil {
			err = checkBinary(s.cfg.WorkerBin)
		}
		if err != nil {
			s.fail(name, opts, err)
			continue
		}
		w, err := s.reserve(name, opts)
		if err != nil {
			s.log.Error("restoring worker", "interface", name, logging.KeyErr, err)
			continue
		}
		if err := s.launch(w); err != nil {
			// Wanted but not startable: failed, not stopped, so that
			// Status and the health check show it.
			s.mu.Lock()
			w.state = StateFailed
			s.mu.Unlock()
			s.log.Error("restoring worker", "interface", name, logging.KeyErr, err)
			continue
		}
		s.log.Info("restored worker", "interface", name, "pid", s.current(name).PID)
	}
	return nil
}

// fail records a wanted interface that cannot be started as failed, so that
// its Status says why.
func (s *Supervisor) fail(name string, opts Options, err error) {
	s.log.Error("cannot restore worker", "interface", name, logging.KeyErr, err)
	if ValidateName(name) != nil {
		return // not a name we can key status by
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.workers[name] != nil {
		return
	}
	done := make(chan struct{})
	close(done)
	s.workers[name] = &worker{
		name: name, opts: opts, argv: s.argv(name, opts),
		logPath: s.LogFile(name), pidPath: s.pidFile(name),
		stop: make(chan struct{}), done: done,
		state:    StateFailed,
		lastExit: &Exit{Time: time.Now().UTC(), Code: -1, Error: err.Error()},
	}
}

// adopt supervises a live worker of an earlier collector run.
func (s *Supervisor) adopt(name string, pid int, args []string, opts Options, pidPath string) error {
	proc, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	w, err := s.reserve(name, opts)
	if err != nil {
		return err
	}
	started := time.Now()
	if fi, err := os.Stat(pidPath); err == nil {
		started = fi.ModTime()
	}
	s.mu.Lock()
	w.argv = args
	w.state, w.pid, w.adopted, w.startedAt = StateRunning, pid, true, started
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	exits := watch(ctx, proc, s.cfg.PollInterval)
	go func() {
		defer cancel()
		s.run(w, proc, exits)
	}()
	return nil
}

// stopForeign stops a worker process that is not supervised: SIGTERM, then
// SIGKILL after StopTimeout.
func (s *Supervisor) stopForeign(ctx context.Context, name string, pid int) {
	proc, err := os.FindProcess(pid)
	if err != nil {
		return
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ex := s.terminate(name, proc, watch(wctx, proc, s.cfg.PollInterval))
	s.log.Info("stopped worker of an earlier run", "interface", name, "pid", pid, "exit", ex)
}
