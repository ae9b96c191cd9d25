package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
)

// workerEnv is the collector's environment without its NTP_… settings (they
// configure the collector; a worker gets everything it needs on its command
// line) plus the token, which stays out of argv so that ps does not show it.
func (s *Supervisor) workerEnv() []string {
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NTP_") {
			env = append(env, kv)
		}
	}
	if s.cfg.Token != "" {
		env = append(env, "NTP_TOKEN="+s.cfg.Token)
	}
	return env
}

// spawn starts one worker process. Its stdout and stderr are the log file
// itself, opened for appending: the worker then keeps logging when the
// collector dies and a later collector adopts it, which a pipe owned by the
// collector would not allow (a Go program writing to a broken stdout pipe is
// killed by SIGPIPE). The supervisor caps the file by rotating it in place
// (see rotate). The worker gets its own process group so that a Ctrl-C on
// the collector's terminal reaches only the collector, which then stops its
// workers in order.
func (s *Supervisor) spawn(w *worker) (*os.Process, <-chan Exit, error) {
	for _, d := range []string{s.cfg.LogDir, s.cfg.PIDDir} {
		if err := os.MkdirAll(d, dirMode); err != nil {
			return nil, nil, err
		}
	}
	logf, err := os.OpenFile(w.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, logFileMode)
	if err != nil {
		return nil, nil, fmt.Errorf("opening worker log: %w", err)
	}
	defer logf.Close() // the child has its own descriptor
	fmt.Fprintf(logf, "%s ntp-collector: starting %s\n", time.Now().UTC().Format(time.RFC3339), strings.Join(w.argv, " "))
	cmd := &exec.Cmd{
		Path:        w.argv[0],
		Args:        w.argv,
		Env:         s.workerEnv(),
		Dir:         "/",
		Stdout:      logf,
		Stderr:      logf,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(logf, "%s ntp-collector: start failed: %v\n", time.Now().UTC().Format(time.RFC3339), err)
		return nil, nil, err
	}
	started := time.Now()
	if err := writePIDFile(w.pidPath, cmd.Process.Pid); err != nil {
		s.log.Error("writing PID file", "interface", w.name, "path", w.pidPath, logging.KeyErr, err)
	}
	exits := make(chan Exit, 1)
	go func() {
		err := cmd.Wait()
		exits <- exitOf(cmd.ProcessState, err)
	}()
	s.mu.Lock()
	w.pid, w.adopted, w.startedAt = cmd.Process.Pid, false, started
	if w.state != StateStarting {
		w.state = StateStarting
	}
	s.mu.Unlock()
	return cmd.Process, exits, nil
}

// exitOf turns a child's wait status into an Exit.
func exitOf(ps *os.ProcessState, err error) Exit {
	ex := Exit{Time: time.Now().UTC(), Code: -1}
	if ps == nil {
		if err != nil {
			ex.Error = err.Error()
		}
		return ex
	}
	ex.Code = ps.ExitCode()
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		ex.Signal = ws.Signal().String()
	}
	return ex
}

// run supervises w from its first process (proc, whose exit arrives on exits)
// until it is stopped or has failed.
func (s *Supervisor) run(w *worker, proc *os.Process, exits <-chan Exit) {
	defer close(w.done)
	log := s.log.With("interface", w.name)
	logTick := time.NewTicker(s.cfg.LogCheckInterval)
	defer logTick.Stop()
	var recent []time.Time // unplanned restarts inside the window

	for {
		if proc == nil {
			s.rotate(w)
			p, ch, err := s.spawn(w)
			if err != nil {
				log.Error("worker start failed", logging.KeyErr, err)
				s.exited(w, Exit{Time: time.Now().UTC(), Code: -1, Error: err.Error()})
			} else {
				proc, exits = p, ch
				log.Info("worker restarted", "pid", p.Pid)
			}
		}
		if proc != nil {
			s.mu.Lock()
			adopted := w.adopted
			s.mu.Unlock()
			running := time.NewTimer(s.cfg.RunningAfter)
			if adopted {
				running.Stop()
			}
		wait:
			for {
				select {
				case ex := <-exits:
					removePIDFile(w.pidPath, proc.Pid)
					s.exited(w, ex)
					log.Warn("worker exited unexpectedly", "pid", proc.Pid, "code", ex.Code, "signal", ex.Signal, logging.KeyErr, ex.Error)
					proc = nil
					running.Stop()
					break wait
				case <-running.C:
					s.mu.Lock()
					if w.state == StateStarting {
						w.state = StateRunning
					}
					s.mu.Unlock()
				case <-logTick.C:
					s.rotate(w)
				case <-w.stop:
					running.Stop()
					ex := s.terminate(w.name, proc, exits)
					removePIDFile(w.pidPath, proc.Pid)
					s.stopped(w, &ex)
					return
				}
			}
		}

		now := time.Now()
		kept := recent[:0]
		for _, t := range recent {
			if now.Sub(t) < s.cfg.RestartWindow {
				kept = append(kept, t)
			}
		}
		recent = kept
		if len(recent) >= s.cfg.MaxRestarts {
			lines := tailLines(w.logPath, s.cfg.LogTailLines)
			s.mu.Lock()
			w.state, w.lastLines = StateFailed, lines
			s.mu.Unlock()
			log.Error("worker failed: too many restarts", "restarts", len(recent), "window", s.cfg.RestartWindow, "last_log_lines", lines)
			return
		}
		delay := s.backoff(len(recent))
		recent = append(recent, now)
		s.mu.Lock()
		w.state = StateBackingOff
		w.lastLines = tailLines(w.logPath, s.cfg.LogTailLines)
		s.mu.Unlock()
		log.Info("restarting worker after backoff", "delay", delay, "recent_restarts", len(recent))
		t := time.NewTimer(delay)
	backoff:
		for {
			select {
			case <-t.C:
				break backoff
			case <-logTick.C:
				s.rotate(w)
			case <-w.stop:
				t.Stop()
				s.stopped(w, nil)
				return
			}
		}
		s.mu.Lock()
		w.restarts++
		s.mu.Unlock()
	}
}

// backoff is the delay before the next restart when n restarts already
// happened inside the window: BackoffMin doubled n times, at most BackoffMax.
func (s *Supervisor) backoff(n int) time.Duration {
	d := s.cfg.BackoffMin
	for i := 0; i < n && d < s.cfg.BackoffMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.BackoffMax)
}

func (s *Supervisor) exited(w *worker, ex Exit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.pid, w.adopted, w.startedAt = 0, false, time.Time{}
	w.lastExit = &ex
}

func (s *Supervisor) stopped(w *worker, ex *Exit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.pid, w.adopted, w.startedAt = 0, false, time.Time{}
	w.state = StateStopped
	w.lastLines = nil
	if ex != nil {
		w.lastExit = ex
	}
}

// terminate asks proc to stop with SIGTERM — a worker then flushes its
// sessions and waits for their acks — and kills it when it is still alive
// after StopTimeout, or at once when Shutdown's deadline has passed.
func (s *Supervisor) terminate(iface string, proc *os.Process, exits <-chan Exit) Exit {
	log := s.log.With("interface", iface, "pid", proc.Pid)
	if err := proc.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		log.Warn("SIGTERM failed", logging.KeyErr, err)
	}
	t := time.NewTimer(s.cfg.StopTimeout)
	defer t.Stop()
	select {
	case ex := <-exits:
		ex.Expected = true
		return ex
	case <-t.C:
		log.Warn("worker did not stop after SIGTERM; killing it", "timeout", s.cfg.StopTimeout)
	case <-s.killNow:
		log.Warn("shutdown deadline reached; killing worker")
	}
	if err := proc.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		log.Error("SIGKILL failed", logging.KeyErr, err)
	}
	select {
	case ex := <-exits:
		ex.Expected = true
		return ex
	case <-time.After(5 * time.Second):
		log.Error("worker still alive after SIGKILL")
		return Exit{Time: time.Now().UTC(), Code: -1, Error: "still alive 5s after SIGKILL", Expected: true}
	}
}

// watch reports the end of a process that is not our child (an adopted
// worker) by polling it: wait(2) is not available for it. os.FindProcess
// holds a pidfd on Linux, so a recycled PID is never mistaken for it; the
// /proc state check catches a zombie whose parent has not reaped it yet.
func watch(ctx context.Context, proc *os.Process, every time.Duration) <-chan Exit {
	exits := make(chan Exit, 1)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if !processAlive(proc) {
				exits <- Exit{Time: time.Now().UTC(), Code: -1, Error: "adopted worker exited; its status is not available to a non-parent"}
				return
			}
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return exits
}

func processAlive(proc *os.Process) bool {
	if err := proc.Signal(syscall.Signal(0)); err != nil {
		return false
	}
	st, err := procState(proc.Pid)
	return err == nil && st != 'Z' && st != 'X'
}

// procState reads the one-letter state of pid from /proc/<pid>/stat.
func procState(pid int) (byte, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name in parentheses may contain anything; the state
	// follows the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return b[i+2], nil
}
