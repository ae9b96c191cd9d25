package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestValidateName(t *testing.T) {
	f, err := os.Open("testdata/names.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		verdict, name, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("testdata/names.txt: bad line %q", line)
		}
		name, err := strconv.Unquote(name)
		if err != nil {
			t.Fatalf("testdata/names.txt: %q: %v", line, err)
		}
		n++
		err = ValidateName(name)
		switch verdict {
		case "ok":
			if err != nil {
				t.Errorf("ValidateName(%q) = %v, want nil", name, err)
			}
		case "bad":
			mustErrIs(t, err, ErrInvalid)
		default:
			t.Fatalf("testdata/names.txt: verdict %q", verdict)
		}
	}
	if n == 0 {
		t.Fatal("no cases read")
	}
	mustErrIs(t, ValidateName(strings.Repeat("a", 200)), ErrInvalid)
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o  Options
		ok bool
	}{
		{Options{}, true},
		{Options{Port: 123, Timeout: 2, Snaplen: 256, BufferSize: 16 << 20}, true},
		{Options{Port: 65535}, true},
		{Options{Port: -1}, false},
		{Options{Port: 65536}, false},
		{Options{Timeout: -0.5}, false},
		{Options{Timeout: 3601}, false},
		{Options{Timeout: 0.0001}, false},
		{Options{Timeout: 0.001}, true},
		{Options{Snaplen: 10}, false},
		{Options{Snaplen: 70000}, false},
		{Options{BufferSize: 1024}, false},
		{Options{BufferSize: 2 << 30}, false},
	} {
		err := tc.o.Validate()
		if tc.ok && err != nil {
			t.Errorf("%+v: %v", tc.o, err)
		}
		if !tc.ok {
			mustErrIs(t, err, ErrInvalid)
		}
	}
}

// TestStartStatusStop runs a worker process through its ordinary life: start,
// status, a refused second start, a graceful stop, the desired state in a
// real SQLite store at each step.
func TestStartStatusStop(t *testing.T) {
	dir := t.TempDir()
	db := openStore(t, filepath.Join(dir, "ntp.db"))
	iface := testInterface(t)
	s := newSupervisor(t, fastConfig(t, dir, standin(t, dir), db))
	ctx := context.Background()

	st, err := s.Start(ctx, iface, Options{Port: 1123, Timeout: 1.5})
	if err != nil {
		t.Fatal(err)
	}
	if st.PID == 0 || st.State != StateStarting {
		t.Fatalf("after Start: %+v", st)
	}
	wantArgv := []string{s.cfg.WorkerBin, "--interface=" + iface, "--ingestion-host=127.0.0.1", "--ingestion-port=10000", "--port=1123", "--timeout=1.5"}
	if strings.Join(st.Argv, " ") != strings.Join(wantArgv, " ") {
		t.Errorf("argv %q, want %q", st.Argv, wantArgv)
	}
	if st.IngestionTarget != "127.0.0.1:10000" || st.LogFile != filepath.Join(dir, "log", "ntp_"+iface+".log") {
		t.Errorf("target %q log %q", st.IngestionTarget, st.LogFile)
	}
	pid := st.PID
	st = waitState(t, s, iface, StateRunning)
	if st.PID != pid || st.StartedAt == nil || st.Uptime <= 0 {
		t.Errorf("running status %+v", st)
	}

	// The token is in the worker's environment and not on its command line;
	// the collector's own NTP_ settings are not passed on.
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cmdline), "s3cret") {
		t.Errorf("token visible in argv: %q", cmdline)
	}
	if !strings.Contains("\x00"+string(environ), "\x00NTP_TOKEN=s3cret-token\x00") {
		t.Errorf("NTP_TOKEN not in the worker's environment")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "run", "ntp_"+iface+".pid")); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(pid) {
		t.Errorf("PID file: %q, %v", b, err)
	}
	m, ok := desiredOf(t, db, iface)
	if !ok || !m.Enabled {
		t.Fatalf("desired state after Start: %+v %v", m, ok)
	}
	var o Options
	if err := json.Unmarshal([]byte(m.Options), &o); err != nil || o != (Options{Port: 1123, Timeout: 1.5}) {
		t.Errorf("stored options %q", m.Options)
	}

	_, err = s.Start(ctx, iface, Options{})
	mustErrIs(t, err, ErrAlreadyRunning)

	list, err := s.Interfaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, i := range list {
		if i.Name == iface {
			found = true
			if i.Monitoring != StateRunning || i.PID != pid || i.Index == 0 {
				t.Errorf("interface entry %+v", i)
			}
		}
	}
	if !found {
		t.Fatalf("%s not listed by Interfaces", iface)
	}

	st, err = s.Stop(ctx, iface)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateStopped || st.PID != 0 || st.LastExit == nil || st.LastExit.Code != 0 || !st.LastExit.Expected {
		t.Fatalf("after Stop: %+v (last exit %+v)", st, st.LastExit)
	}
	if alive(pid) {
		t.Errorf("worker %d still alive after Stop", pid)
	}
	logb, _ := os.ReadFile(st.LogFile)
	if !strings.Contains(string(logb), "SIGTERM: flushed") {
		t.Errorf("worker was not stopped with SIGTERM; log:\n%s", logb)
	}
	if strings.Contains(string(logb), `ntp_env=["NTP_TOKEN"]`) == false {
		t.Errorf("worker environment carries other NTP_ variables or no token; log:\n%s", logb)
	}
	if _, err := os.Stat(filepath.Join(dir, "run", "ntp_"+iface+".pid")); !os.IsNotExist(err) {
		t.Errorf("PID file left after Stop: %v", err)
	}
	if m, _ := desiredOf(t, db, iface); m.Enabled {
		t.Errorf("desired state still enabled after Stop")
	}
	_, err = s.Stop(ctx, iface)
	mustErrIs(t, err, ErrNotRunning)

	// A stopped interface can be started again.
	if _, err := s.Start(ctx, iface, Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestStartRefusesBadRequests(t *testing.T) {
	dir := t.TempDir()
	db := openStore(t, filepath.Join(dir, "ntp.db"))
	s := newSupervisor(t, fastConfig(t, dir, standin(t, dir), db))
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts Options
		want error
	}{
		{"../../x", Options{}, ErrInvalid},
		{"eth0;rm", Options{}, ErrInvalid},
		{strings.Repeat("e", 200), Options{}, ErrInvalid},
		{"", Options{}, ErrInvalid},
		{"-x", Options{}, ErrInvalid},
		{uniq("nosuch"), Options{}, ErrNoSuchInterface},
		{"lo", Options{Port: 70000}, ErrInvalid},
		{"lo", Options{Timeout: -1}, ErrInvalid},
	} {
		_, err := s.Start(ctx, tc.name, tc.opts)
		if len(tc.name) > 20 {
			tc.name = tc.name[:20] + "…"
		}
		t.Run(tc.name, func(t *testing.T) { mustErrIs(t, err, tc.want) })
	}
	_, err := s.Status("../../x")
	mustErrIs(t, err, ErrInvalid)
	_, err = s.Status(uniq("nosuch"))
	mustErrIs(t, err, ErrNoSuchInterface)
	_, err = s.Stop(ctx, "eth0;rm")
	mustErrIs(t, err, ErrInvalid)
	if list, _ := db.Monitored(ctx); len(list) != 0 {
		t.Errorf("refused requests reached the desired state: %+v", list)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "log")); len(ents) != 0 {
		t.Errorf("refused requests created log files: %v", ents)
	}
}

func TestStartWithMissingBinary(t *testing.T) {
	dir := t.TempDir()
	db := openStore(t, filepath.Join(dir, "ntp.db"))
	iface := testInterface(t)
	s := newSupervisor(t, fastConfig(t, dir, filepath.Join(dir, "no-such-worker"), db))
	_, err := s.Start(context.Background(), iface, Options{})
	mustErrIs(t, err, ErrWorkerBinary)
	if _, ok := desiredOf(t, db, iface); ok {
		t.Error("failed start recorded in the desired state")
	}
	st, err := s.Status(iface)
	if err != nil || st.State != StateStopped {
		t.Errorf("status after failed start: %+v, %v", st, err)
	}
}

// TestWorkerKilledIsRestarted kills a worker with SIGKILL and expects a new
// process, counted as a restart, with the signal as the last exit.
func TestWorkerKilledIsRestarted(t *testing.T) {
	dir := t.TempDir()
	iface := testInterface(t)
	s := newSupervisor(t, fastConfig(t, dir, standin(t, dir), nil))
	st, err := s.Start(context.Background(), iface, Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := st.PID
	waitState(t, s, iface, StateRunning)
	killPID(first)
	waitFor(t, "a new worker process", func() bool {
		st, _ = s.Status(iface)
		return st.PID != 0 && st.PID != first && st.State == StateRunning
	})
	if st.Restarts != 1 || st.LastExit == nil || st.LastExit.Signal != "killed" || st.LastExit.Expected {
		t.Errorf("after restart: restarts %d, last exit %+v", st.Restarts, st.LastExit)
	}
	if alive(first) {
		t.Errorf("killed worker %d still alive", first)
	}
	if pid, err := readPIDFile(filepath.Join(dir, "run", "ntp_"+iface+".pid")); err != nil || pid != st.PID {
		t.Errorf("PID file names %d (%v), want %d", pid, err, st.PID)
	}
}

// TestWorkerExitingAtOnceFails: a worker that cannot capture exits at once,
// is restarted MaxRestarts times with backoff and is then reported failed
// with the end of its log.
func TestWorkerExitingAtOnceFails(t *testing.T) {
	t.Setenv("STANDIN_MODE", "exit")
	dir := t.TempDir()
	db := openStore(t, filepath.Join(dir, "ntp.db"))
	iface := testInterface(t)
	cfg := fastConfig(t, dir, standin(t, dir), db)
	s := newSupervisor(t, cfg)
	if _, err := s.Start(context.Background(), iface, Options{}); err != nil {
		t.Fatal(err)
	}
	st := waitState(t, s, iface, StateFailed)
	if st.Restarts != cfg.MaxRestarts {
		t.Errorf("restarts %d, want %d", st.Restarts, cfg.MaxRestarts)
	}
	if st.PID != 0 || st.LastExit == nil || st.LastExit.Code != 1 {
		t.Errorf("failed status %+v, last exit %+v", st, st.LastExit)
	}
	if len(st.LastLogLines) == 0 || !strings.Contains(strings.Join(st.LastLogLines, "\n"), "permission to capture") {
		t.Errorf("last log lines do not say why: %q", st.LastLogLines)
	}
	// Starts seen in the log: the first and MaxRestarts restarts.
	logb, _ := os.ReadFile(st.LogFile)
	if got := strings.Count(string(logb), "ntp-collector: starting"); got != cfg.MaxRestarts+1 {
		t.Errorf("%d starts in the log, want %d", got, cfg.MaxRestarts+1)
	}
	// Failed is not running: Stop says so but clears the desired state, and
	// Start tries again.
	_, err := s.Stop(context.Background(), iface)
	mustErrIs(t, err, ErrNotRunning)
	if m, _ := desiredOf(t, db, iface); m.Enabled {
		t.Error("desired state still enabled after Stop of a failed worker")
	}
	st, err = s.Start(context.Background(), iface, Options{})
	if err != nil || st.Restarts != 0 {
		t.Fatalf("restart after failure: %+v, %v", st, err)
	}
}

// TestWorkerBinaryRemovedWhileRunning: the worker dies and its binary is gone,
// so every restart fails at exec; the worker ends failed with the exec error.
func TestWorkerBinaryRemovedWhileRunning(t *testing.T) {
	dir := t.TempDir()
	iface := testInterface(t)
	bin := standin(t, dir)
	s := newSupervisor(t, fastConfig(t, dir, bin, nil))
	st, err := s.Start(context.Background(), iface, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	killPID(st.PID)
	st = waitState(t, s, iface, StateFailed)
	if st.LastExit == nil || !strings.Contains(st.LastExit.Error, "no such file") {
		t.Errorf("last exit %+v", st.LastExit)
	}
}

// TestStopKillsAWorkerIgnoringSIGTERM bounds the wait for a worker's flush.
func TestStopKillsAWorkerIgnoringSIGTERM(t *testing.T) {
	t.Setenv("STANDIN_MODE", "ignore-term")
	dir := t.TempDir()
	iface := testInterface(t)
	cfg := fastConfig(t, dir, standin(t, dir), nil)
	cfg.StopTimeout = 300 * time.Millisecond
	s := newSupervisor(t, cfg)
	st, err := s.Start(context.Background(), iface, Options{})
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, s, iface, StateRunning)
	st, err = s.Stop(context.Background(), iface)
	if err != nil {
		t.Fatal(err)
	}
	if st.LastExit == nil || st.LastExit.Signal != "killed" {
		t.Errorf("last exit %+v, want killed", st.LastExit)
	}
}

func TestLogRotation(t *testing.T) {
	t.Setenv("STANDIN_MODE", "spam")
	t.Setenv("STANDIN_SPAM_LINES", "3000") // 300 kB in 100-byte lines
	dir := t.TempDir()
	iface := testInterface(t)
	cfg := fastConfig(t, dir, standin(t, dir), nil)
	cfg.LogMaxBytes = 32 << 10
	cfg.LogBackups = 2
	cfg.LogCheckInterval = 5 * time.Millisecond
	s := newSupervisor(t, cfg)
	if _, err := s.Start(context.Background(), iface, Options{}); err != nil {
		t.Fatal(err)
	}
	log := s.LogFile(iface)
	waitFor(t, "the last spam line", func() bool {
		for _, p := range []string{log, log + ".1", log + ".2"} {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), "00002999 ") {
				return true
			}
		}
		return false
	})
	time.Sleep(3 * cfg.LogCheckInterval)
	if _, err := os.Stat(log + ".3"); !os.IsNotExist(err) {
		t.Errorf("more backups than configured: %v", err)
	}
	for _, p := range []string{log + ".1", log + ".2"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("backup %s: %v", p, err)
		}
		if fi.Size() <= cfg.LogMaxBytes {
			t.Errorf("%s is %d bytes: rotated before reaching the cap", p, fi.Size())
		}
	}
	fi, _ := os.Stat(log)
	if fi.Size() > cfg.LogMaxBytes {
		t.Errorf("current log %d bytes, over the %d cap after rotation", fi.Size(), cfg.LogMaxBytes)
	}
	// The worker keeps writing into the truncated file: no NUL hole where
	// the old content was.
	b, _ := os.ReadFile(log)
	if strings.IndexByte(string(b), 0) >= 0 {
		t.Error("current log has a hole of NUL bytes: writer not in append mode")
	}
}

// TestShutdownKeepsDesiredState: Shutdown stops every worker gracefully and
// leaves the desired state, so the next supervisor starts them again.
func TestShutdownKeepsDesiredState(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "ntp.db")
	db := openStore(t, dbPath)
	iface := testInterface(t)
	bin := standin(t, dir)
	s1, err := New(fastConfig(t, dir, bin, db))
	if err != nil {
		t.Fatal(err)
	}
	st, err := s1.Start(context.Background(), iface, Options{Port: 4123})
	if err != nil {
		t.Fatal(err)
	}
	first := st.PID
	waitState(t, s1, iface, StateRunning) // the worker has installed its SIGTERM handler
	if err := s1.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if alive(first) {
		t.Fatalf("worker %d alive after Shutdown", first)
	}
	if b, _ := os.ReadFile(s1.LogFile(iface)); !strings.Contains(string(b), "SIGTERM: flushed") {
		t.Errorf("worker not stopped gracefully:\n%s", b)
	}
	_, err = s1.Start(context.Background(), iface, Options{})
	mustErrIs(t, err, ErrClosed)
	if m, _ := desiredOf(t, db, iface); !m.Enabled {
		t.Fatal("Shutdown cleared the desired state")
	}

	s2 := newSupervisor(t, fastConfig(t, dir, bin, db))
	if err := s2.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err = s2.Status(iface)
	if err != nil || !st.State.Active() || st.PID == 0 || st.PID == first || st.Adopted || st.Options.Port != 4123 {
		t.Fatalf("restored status %+v, %v", st, err)
	}
}

// TestRestoreAfterCollectorKilled runs a supervisor in a separate process (as
// the collector would), kills it with SIGKILL, and has a new supervisor with
// the same database and PID directory adopt the orphaned worker, notice its
// death by polling and restart it.
func TestRestoreAfterCollectorKilled(t *testing.T) {
	dir, dbPath, iface, bin, workerPID := orphanedWorker(t)
	if !alive(workerPID) {
		t.Fatal("worker died with its collector")
	}

	// Stale PID files: one naming a process that has exited, one naming a
	// live process that is not a worker. Both are removed; the live
	// process is left alone.
	pidDir := filepath.Join(dir, "run")
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stranger := exec.Command("sleep", "60")
	if err := stranger.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stranger.Process.Kill(); stranger.Wait() })
	os.WriteFile(filepath.Join(pidDir, "ntp_gone0.pid"), []byte(strconv.Itoa(dead.Process.Pid)+"\n"), 0o644)
	os.WriteFile(filepath.Join(pidDir, "ntp_other0.pid"), []byte(strconv.Itoa(stranger.Process.Pid)+"\n"), 0o644)

	db := openStore(t, dbPath)
	s := newSupervisor(t, fastConfig(t, dir, bin, db))
	if err := s.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := s.Status(iface)
	if err != nil {
		t.Fatal(err)
	}
	if st.PID != workerPID || !st.Adopted || st.State != StateRunning {
		t.Fatalf("not adopted: %+v", st)
	}
	for _, f := range []string{"ntp_gone0.pid", "ntp_other0.pid"} {
		if _, err := os.Stat(filepath.Join(pidDir, f)); !os.IsNotExist(err) {
			t.Errorf("stale %s not removed: %v", f, err)
		}
	}
	if err := stranger.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("unrelated process was signalled: %v", err)
	}

	// An adopted worker is not our child: its death is noticed by polling
	// and it is restarted as a child of ours.
	killPID(workerPID)
	st = waitFor2(t, s, iface, func(st Status) bool { return st.PID != 0 && st.PID != workerPID })
	if st.Adopted || st.Restarts != 1 || st.LastExit == nil {
		t.Errorf("after the adopted worker died: %+v", st)
	}

	// Stop by PID works for the new child and clears the desired state.
	if _, err := s.Stop(context.Background(), iface); err != nil {
		t.Fatal(err)
	}
	if m, _ := desiredOf(t, db, iface); m.Enabled {
		t.Error("desired state still enabled")
	}
}

// TestRestoreStopsAdoptedWorkerOnStop adopts a worker and stops it by PID,
// gracefully.
func TestRestoreStopsAdoptedWorkerOnStop(t *testing.T) {
	dir, dbPath, iface, bin, workerPID := orphanedWorker(t)
	s := newSupervisor(t, fastConfig(t, dir, bin, openStore(t, dbPath)))
	if err := s.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Status(iface); !st.Adopted {
		t.Fatalf("not adopted: %+v", st)
	}
	st, err := s.Stop(context.Background(), iface)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateStopped || alive(workerPID) {
		t.Fatalf("after Stop: %+v, alive %v", st, alive(workerPID))
	}
	if b, _ := os.ReadFile(s.LogFile(iface)); !strings.Contains(string(b), "SIGTERM: flushed") {
		t.Errorf("adopted worker not stopped with SIGTERM:\n%s", b)
	}
}

// TestRestoreReplacesWorkerOfOldBinary: a worker of an earlier run whose
// binary has since been replaced (an upgrade) is stopped and a new one
// started from the new binary; a worker no longer wanted is stopped.
func TestRestoreReplacesWorkerOfOldBinary(t *testing.T) {
	dir, dbPath, iface, bin, workerPID := orphanedWorker(t)
	// Replace the binary the way an install does: a new file renamed over
	// the old path.
	b, _ := os.ReadFile(bin)
	os.WriteFile(bin+".new", b, 0o755)
	if err := os.Rename(bin+".new", bin); err != nil {
		t.Fatal(err)
	}
	s := newSupervisor(t, fastConfig(t, dir, bin, openStore(t, dbPath)))
	if err := s.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Status(iface)
	if st.Adopted || st.PID == workerPID || st.PID == 0 {
		t.Fatalf("old-binary worker adopted: %+v", st)
	}
	waitFor(t, "the old worker to end", func() bool { return !alive(workerPID) })
}

func waitFor2(t *testing.T, s *Supervisor, iface string, cond func(Status) bool) Status {
	t.Helper()
	var st Status
	waitFor(t, "status condition on "+iface, func() bool {
		st, _ = s.Status(iface)
		return cond(st)
	})
	return st
}

// TestConcurrentStartStop races Starts and Stops on one interface: every
// call gets a success or its sentinel, no worker is left unsupervised, and
// the desired state ends matching what runs.
func TestConcurrentStartStop(t *testing.T) {
	dir := t.TempDir()
	db := openStore(t, filepath.Join(dir, "ntp.db"))
	iface := testInterface(t)
	s := newSupervisor(t, fastConfig(t, dir, standin(t, dir), db))
	ctx := context.Background()
	var pids sync.Map
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 4; j++ {
				if (i+j)%2 == 0 {
					st, err := s.Start(ctx, iface, Options{})
					if err == nil {
						pids.Store(st.PID, true)
					} else if !errors.Is(err, ErrAlreadyRunning) {
						t.Errorf("Start: %v", err)
					}
				} else if _, err := s.Stop(ctx, iface); err != nil && !errors.Is(err, ErrNotRunning) {
					t.Errorf("Stop: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	st, err := s.Status(iface)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := desiredOf(t, db, iface)
	if m.Enabled != st.State.Active() {
		t.Errorf("desired enabled=%v but state %s", m.Enabled, st.State)
	}
	pids.Range(func(k, _ any) bool {
		if pid := k.(int); pid != st.PID && alive(pid) {
			t.Errorf("worker %d left running outside supervision", pid)
		}
		return true
	})
}

// TestRestoreWithChangedDesiredState: a live worker of an earlier run whose
// interface is no longer wanted is left alone (the PID directory may be
// another collector's too); one whose desired options changed is replaced.
func TestRestoreWithChangedDesiredState(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		enabled bool
		options string
	}{
		{"unwanted", false, "{}"},
		{"new options", true, `{"port":999}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, dbPath, iface, bin, workerPID := orphanedWorker(t)
			db := openStore(t, dbPath)
			if err := db.SetMonitored(ctx, iface, tc.options, tc.enabled); err != nil {
				t.Fatal(err)
			}
			s := newSupervisor(t, fastConfig(t, dir, bin, db))
			if err := s.Restore(ctx); err != nil {
				t.Fatal(err)
			}
			st, _ := s.Status(iface)
			pidFile := filepath.Join(dir, "run", "ntp_"+iface+".pid")
			if !tc.enabled {
				if st.State != StateStopped || !alive(workerPID) {
					t.Fatalf("unwanted worker: status %+v, alive %v", st, alive(workerPID))
				}
				if pid, err := readPIDFile(pidFile); err != nil || pid != workerPID {
					t.Errorf("PID file of the unwanted worker: %d, %v", pid, err)
				}
				return
			}
			if st.Adopted || st.PID == 0 || st.PID == workerPID || st.Options.Port != 999 {
				t.Fatalf("worker with old options not replaced: %+v", st)
			}
			if alive(workerPID) {
				t.Error("worker with old options still alive")
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	s := &Supervisor{cfg: Config{BackoffMin: time.Second, BackoffMax: time.Minute}.withDefaults()}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60}
	for n, w := range want {
		if got := s.backoff(n); got != w*time.Second {
			t.Errorf("backoff after %d restarts: %v, want %v", n, got, w*time.Second)
		}
	}
	// The defaults: five restarts in five minutes, 15 s for a worker's flush.
	d := Config{}.withDefaults()
	if d.MaxRestarts != 5 || d.RestartWindow != 5*time.Minute || d.StopTimeout != 15*time.Second || d.LogMaxBytes != 10<<20 || d.LogBackups != 3 {
		t.Errorf("defaults %+v", d)
	}
}

// TestRestoreReportsUnstartableWorkers: wanted interfaces that are gone from
// the host, have options out of range, or whose binary is missing come back
// as failed with the reason, and Restore itself succeeds.
func TestRestoreReportsUnstartableWorkers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openStore(t, filepath.Join(dir, "ntp.db"))
	gone := uniq("gone")
	iface := testInterface(t)
	for name, opts := range map[string]string{gone: "{}", iface: `{"port":70000}`} {
		if err := db.SetMonitored(ctx, name, opts, true); err != nil {
			t.Fatal(err)
		}
	}
	s := newSupervisor(t, fastConfig(t, dir, filepath.Join(dir, "no-worker"), db))
	if err := s.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{gone: "no such interface", iface: "port 70000"} {
		st, err := s.Status(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if st.State != StateFailed || st.LastExit == nil || !strings.Contains(st.LastExit.Error, want) {
			t.Errorf("%s: state %s, last exit %+v; want failed with %q", name, st.State, st.LastExit, want)
		}
	}
	// With valid options, the missing binary is the reason.
	if err := db.SetMonitored(ctx, iface, "{}", true); err != nil {
		t.Fatal(err)
	}
	s2 := newSupervisor(t, fastConfig(t, dir, filepath.Join(dir, "no-worker"), db))
	if err := s2.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := s2.Status(iface); st.State != StateFailed || st.LastExit == nil || !strings.Contains(st.LastExit.Error, "worker binary") {
		t.Errorf("missing binary: %+v", st)
	}
}
