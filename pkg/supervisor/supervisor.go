package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
)

// Supervisor runs one worker process per monitored interface. Its methods are
// safe for concurrent use.
type Supervisor struct {
	cfg    Config
	log    *slog.Logger
	target string // host:port workers send to

	// killNow is closed when Shutdown's context ends before every worker has
	// stopped: pending SIGTERM waits escalate to SIGKILL at once.
	killNow     chan struct{}
	killNowOnce sync.Once

	mu      sync.Mutex
	workers map[string]*worker
	closed  bool
	// ops serialises Start and Stop per interface, so that the desired
	// state written to the store matches the order the requests ran in.
	ops map[string]*opLock
}

type opLock struct {
	mu   sync.Mutex
	refs int
}

// lockName serialises mutating operations on one interface name; the
// returned func releases the lock.
func (s *Supervisor) lockName(name string) func() {
	s.mu.Lock()
	l := s.ops[name]
	if l == nil {
		l = &opLock{}
		s.ops[name] = l
	}
	l.refs++
	s.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		s.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(s.ops, name)
		}
		s.mu.Unlock()
	}
}

// worker is one supervised interface. The fields after mu-guarded are
// written by the worker's run loop and read by Status, under Supervisor.mu.
type worker struct {
	name    string
	opts    Options
	argv    []string
	logPath string
	pidPath string

	stop     chan struct{} // closed to ask the run loop to stop the process
	stopOnce sync.Once
	done     chan struct{} // closed when the run loop has returned

	// Guarded by Supervisor.mu.
	state     State
	pid       int
	adopted   bool
	startedAt time.Time
	restarts  int
	lastExit  *Exit
	lastLines []string
}

func (w *worker) requestStop() { w.stopOnce.Do(func() { close(w.stop) }) }

// New checks cfg. It starts nothing: call Restore (or Run) to bring back
// the desired state.
func New(cfg Config) (*Supervisor, error) {
	cfg = cfg.withDefaults()
	if cfg.WorkerBin == "" {
		return nil, errors.New("supervisor: no worker binary configured")
	}
	bin, err := filepath.Abs(cfg.WorkerBin)
	if err != nil {
		return nil, fmt.Errorf("supervisor: worker binary %s: %w", cfg.WorkerBin, err)
	}
	cfg.WorkerBin = bin
	if cfg.PIDDir == "" || cfg.LogDir == "" {
		return nil, errors.New("supervisor: PID and log directories are required")
	}
	if cfg.IngestionPort < 1 || cfg.IngestionPort > 65535 {
		return nil, fmt.Errorf("supervisor: ingestion port %d out of range", cfg.IngestionPort)
	}
	for _, d := range []*string{&cfg.PIDDir, &cfg.LogDir} {
		abs, err := filepath.Abs(*d)
		if err != nil {
			return nil, fmt.Errorf("supervisor: directory %s: %w", *d, err)
		}
		*d = abs
	}
	host := cfg.IngestionHost
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if ip != nil && ip.To4() == nil {
			host = "::1"
		} else {
			host = "127.0.0.1"
		}
	}
	cfg.IngestionHost = host
	return &Supervisor{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "supervisor"),
		target:  net.JoinHostPort(host, strconv.Itoa(cfg.IngestionPort)),
		killNow: make(chan struct{}),
		workers: make(map[string]*worker),
		ops:     make(map[string]*opLock),
	}, nil
}

// LogFile is the path of the log file of the worker on iface.
func (s *Supervisor) LogFile(iface string) string {
	return filepath.Join(s.cfg.LogDir, "ntp_"+iface+".log")
}

func (s *Supervisor) pidFile(iface string) string {
	return filepath.Join(s.cfg.PIDDir, "ntp_"+iface+".pid")
}

// argv is the exact command line of the worker on iface. Every value goes in
// the --flag=value form, so no value can be taken for a flag.
func (s *Supervisor) argv(iface string, o Options) []string {
	a := []string{
		s.cfg.WorkerBin,
		"--interface=" + iface,
		"--ingestion-host=" + s.cfg.IngestionHost,
		"--ingestion-port=" + strconv.Itoa(s.cfg.IngestionPort),
	}
	if o.Port != 0 {
		a = append(a, "--port="+strconv.Itoa(o.Port))
	}
	if o.Timeout != 0 {
		a = append(a, "--timeout="+strconv.FormatFloat(o.Timeout, 'f', -1, 64))
	}
	if o.Snaplen != 0 {
		a = append(a, "--snaplen="+strconv.Itoa(o.Snaplen))
	}
	if o.BufferSize != 0 {
		a = append(a, "--buffer-size="+strconv.Itoa(o.BufferSize))
	}
	if s.cfg.WorkerLogLevel != "" {
		a = append(a, "--log-level="+s.cfg.WorkerLogLevel)
	}
	if s.cfg.WorkerLogFormat != "" {
		a = append(a, "--log-format="+s.cfg.WorkerLogFormat)
	}
	return append(a, s.cfg.WorkerArgs...)
}

// checkInterface validates name and looks it up on the host. It lists the
// interfaces rather than asking for one by name: net.InterfaceByName
// answers a missing one with "route ip+net: no such network interface",
// which says how it looked, and a failure to look at all the same way.
func checkInterface(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("list the host's interfaces: %w", err)
	}
	if !slices.ContainsFunc(ifs, func(i net.Interface) bool { return i.Name == name }) {
		return fmt.Errorf("%w %q", ErrNoSuchInterface, name)
	}
	return nil
}

// checkBinary reports a worker binary that cannot be executed.
func checkBinary(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrWorkerBinary, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%w: %s is not an executable file", ErrWorkerBinary, path)
	}
	return nil
}

// Start starts a worker on interface name and records it in the desired
// state. It returns ErrInvalid for a bad name or options, ErrNoSuchInterface
// when the host has no such interface, ErrAlreadyRunning when a worker is
// already supervised on it, and ErrWorkerBinary when the worker executable
// is missing. A worker that exits at once is not an error here: it is
// restarted and, past the restart cap, reported failed by Status.
func (s *Supervisor) Start(ctx context.Context, name string, opts Options) (Status, error) {
	if err := checkInterface(name); err != nil {
		return Status{}, err
	}
	if err := opts.Validate(); err != nil {
		return Status{}, err
	}
	if err := checkBinary(s.cfg.WorkerBin); err != nil {
		return Status{}, err
	}
	defer s.lockName(name)()
	w, err := s.reserve(name, opts)
	if err != nil {
		return Status{}, err
	}
	if err := s.persist(ctx, name, opts, true); err != nil {
		s.release(w, nil)
		return Status{}, err
	}
	if err := s.launch(w); err != nil {
		if perr := s.persist(context.WithoutCancel(ctx), name, opts, false); perr != nil {
			s.log.Error("reverting desired state", "interface", name, logging.KeyErr, perr)
		}
		return Status{}, err
	}
	s.log.Info("worker started", "interface", name, "pid", s.current(name).PID, "argv", w.argv)
	return s.current(name), nil
}

// current is Status without the error, for a name known to be supervised.
func (s *Supervisor) current(name string) Status {
	st, _ := s.Status(name)
	return st
}

// reserve registers a new worker for name in state starting, so that a
// concurrent Start of the same name gets ErrAlreadyRunning.
func (s *Supervisor) reserve(name string, opts Options) (*worker, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if old := s.workers[name]; old != nil && old.state.Active() {
		return nil, fmt.Errorf("%w: interface %q (pid %d, %s)", ErrAlreadyRunning, name, old.pid, old.state)
	}
	w := &worker{
		name:    name,
		opts:    opts,
		argv:    s.argv(name, opts),
		logPath: s.LogFile(name),
		pidPath: s.pidFile(name),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		state:   StateStarting,
	}
	s.workers[name] = w
	return w, nil
}

// release undoes reserve after a failed start; ex, when set, is kept as the
// last exit of a stopped entry so Status can show why.
func (s *Supervisor) release(w *worker, ex *Exit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.state = StateStopped
	w.lastExit = ex
	if ex == nil && s.workers[w.name] == w {
		delete(s.workers, w.name)
	}
	close(w.done)
}

// launch spawns the first process of a reserved worker and hands it to a run
// loop.
func (s *Supervisor) launch(w *worker) error {
	s.rotate(w)
	proc, exits, err := s.spawn(w)
	if err != nil {
		s.release(w, &Exit{Time: time.Now().UTC(), Code: -1, Error: err.Error()})
		return fmt.Errorf("supervisor: starting worker on %q: %w", w.name, err)
	}
	go s.run(w, proc, exits)
	return nil
}

func (s *Supervisor) persist(ctx context.Context, name string, opts Options, enabled bool) error {
	if s.cfg.Desired == nil {
		return nil
	}
	b, err := json.Marshal(opts)
	if err != nil {
		return fmt.Errorf("supervisor: encoding options: %w", err)
	}
	if err := s.cfg.Desired.SetMonitored(ctx, name, string(b), enabled); err != nil {
		return fmt.Errorf("supervisor: recording desired state of %q: %w", name, err)
	}
	return nil
}

// Stop stops the worker on name (SIGTERM, then SIGKILL after StopTimeout)
// and records that it should no longer run. It returns ErrNotRunning when no
// worker is supervised there; a failed worker counts as not running, but its
// desired state is cleared so that it does not come back with the collector.
func (s *Supervisor) Stop(ctx context.Context, name string) (Status, error) {
	if err := ValidateName(name); err != nil {
		return Status{}, err
	}
	defer s.lockName(name)()
	s.mu.Lock()
	w := s.workers[name]
	var active bool
	var opts Options
	if w != nil {
		active = w.state.Active()
		opts = w.opts
	}
	s.mu.Unlock()
	if w == nil || !active {
		if w != nil {
			if err := s.persist(ctx, name, opts, false); err != nil {
				return Status{}, err
			}
		}
		return Status{}, fmt.Errorf("%w: interface %q", ErrNotRunning, name)
	}
	if err := s.persist(ctx, name, opts, false); err != nil {
		return Status{}, err
	}
	w.requestStop()
	select {
	case <-w.done:
	case <-ctx.Done():
		return Status{}, fmt.Errorf("supervisor: stopping worker on %q: %w", name, ctx.Err())
	}
	st := s.current(name)
	s.log.Info("worker stopped", "interface", name, "last_exit", st.LastExit)
	return st, nil
}

// Shutdown stops every worker (SIGTERM, each gets StopTimeout to flush and
// collect its acks, then SIGKILL) without changing the desired state, so the
// next collector brings them back. When ctx ends first the remaining workers
// are killed at once. Start fails with ErrClosed afterwards.
func (s *Supervisor) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	ws := make([]*worker, 0, len(s.workers))
	for _, w := range s.workers {
		ws = append(ws, w)
	}
	s.mu.Unlock()
	for _, w := range ws {
		w.requestStop()
	}
	for _, w := range ws {
		select {
		case <-w.done:
		case <-ctx.Done():
			s.killNowOnce.Do(func() { close(s.killNow) })
			<-w.done
		}
	}
	if len(ws) > 0 {
		s.log.Info("all workers stopped", "count", len(ws))
	}
	return ctx.Err()
}

// Run is the supervisor as a long-running component of the collector: it
// restores the desired state, supervises until ctx ends, then stops every
// worker (Shutdown), giving each StopTimeout to flush. Run it so that it
// stops before the ingestion server drains: a stopping worker sends its last
// sessions and waits for their acks.
func (s *Supervisor) Run(ctx context.Context) error {
	if err := s.Restore(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	// A stop request during Restore is not an error: stop what was
	// restored so far.
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.StopTimeout+5*time.Second)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		return fmt.Errorf("supervisor: stopping workers: %w", err)
	}
	return nil
}
