package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
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

// builtOnce builds a command of the module once per test binary run, into a
// directory removed by TestMain.
func builtOnce(pkg string, cgo bool) func() (string, error) {
	return sync.OnceValues(func() (string, error) {
		dir, err := os.MkdirTemp("", "supervisor-bin-")
		if err != nil {
			return "", err
		}
		buildDirs.Store(dir, true)
		bin := filepath.Join(dir, filepath.Base(pkg))
		cmd := exec.Command("go", "build", "-buildvcs=false", "-o", bin, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+map[bool]string{true: "1", false: "0"}[cgo])
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("building %s: %v\n%s", pkg, err, out)
		}
		return bin, nil
	})
}

var (
	buildDirs     sync.Map // directories to remove after the tests
	collectorBin  = builtOnce("../../cmd/ntp-collector", false)
	realWorkerBin = builtOnce("../../cmd/ntp-worker", true)
)

// copyBin copies a built binary into dir (each test gets its own file:
// adoption compares executables).
func copyBin(t *testing.T, build func() (string, error), dir string) string {
	t.Helper()
	src, err := build()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// buildCollector puts an ntp-collector built from the tree into dir.
func buildCollector(t *testing.T, dir string) string { return copyBin(t, collectorBin, dir) }

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// collectorProc is a running ntp-collector whose log lines the test can
// wait for.
type collectorProc struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

func startCollector(t *testing.T, bin string, env []string, args ...string) *collectorProc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &collectorProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Logf("collector %d: %s", cmd.Process.Pid, sc.Text())
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// waitLine waits for a log line containing all of parts and returns it.
func (p *collectorProc) waitLine(t *testing.T, parts ...string) string {
	t.Helper()
	var found string
	waitFor(t, fmt.Sprintf("collector log line with %q", parts), func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, l := range p.lines {
			ok := true
			for _, part := range parts {
				ok = ok && strings.Contains(l, part)
			}
			if ok {
				found = l
				return true
			}
		}
		return false
	})
	return found
}

// logPID reads pid=N from a log line.
func logPID(t *testing.T, line string) int {
	t.Helper()
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "pid="); ok {
			pid, err := strconv.Atoi(v)
			if err == nil {
				return pid
			}
		}
	}
	t.Fatalf("no pid in %q", line)
	return 0
}

// TestCollectorKilledAndRestarted runs the real ntp-collector binary with a
// desired state in its database: it starts the worker; killed with SIGKILL
// it leaves the worker running; started again it adopts that worker; on
// SIGTERM it stops the worker gracefully, exits 0 and keeps the desired
// state for next time.
func TestCollectorKilledAndRestarted(t *testing.T) {
	t.Run("stand-in worker", func(t *testing.T) {
		dir := t.TempDir()
		collectorKilledAndRestarted(t, dir, standin(t, dir), "SIGTERM: flushed")
	})
	t.Run("real worker", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("the real worker needs root (CAP_NET_RAW) to capture on the test's veth")
		}
		dir := t.TempDir()
		collectorKilledAndRestarted(t, dir, buildRealWorker(t, dir), "capture stopped")
	})
}

// buildRealWorker puts an ntp-worker built from the tree into dir.
func buildRealWorker(t *testing.T, dir string) string { return copyBin(t, realWorkerBin, dir) }

func collectorKilledAndRestarted(t *testing.T, dir, worker, stoppedLine string) {
	iface := testInterface(t)
	collector := buildCollector(t, dir)
	dbPath := filepath.Join(dir, "ntp.db")
	db := openStore(t, dbPath)
	if err := db.SetMonitored(context.Background(), iface, `{"port":123}`, true); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	args := []string{"serve", "--db", dbPath, "--ingestion-port", strconv.Itoa(port)}
	env := []string{
		"NTP_WORKER_BIN=" + worker,
		"NTP_PID_DIR=" + filepath.Join(dir, "run"),
		"NTP_LOG_DIR=" + filepath.Join(dir, "log"),
		"NTP_TOKEN=collector-token",
		"NTP_HTTP_LISTEN=127.0.0.1:0", // not the default port, which another collector may hold
	}

	c1 := startCollector(t, collector, env, args...)
	workerPID := logPID(t, c1.waitLine(t, "restored worker", "interface="+iface))
	t.Cleanup(func() { killPID(workerPID) })
	if !alive(workerPID) {
		t.Fatal("restored worker is not running")
	}
	environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", workerPID))
	if !strings.Contains(string(environ), "NTP_TOKEN=collector-token") {
		t.Error("the collector's token did not reach the worker's environment")
	}
	c1.cmd.Process.Kill()
	<-c1.done
	time.Sleep(100 * time.Millisecond)
	if !alive(workerPID) {
		t.Fatal("worker died with its collector")
	}

	c2 := startCollector(t, collector, env, args...)
	line := c2.waitLine(t, "adopted worker of an earlier run", "interface="+iface)
	if logPID(t, line) != workerPID {
		t.Fatalf("adopted a different process: %s", line)
	}
	c2.waitLine(t, "ingestion listening")
	if stoppedLine != "SIGTERM: flushed" {
		// The real worker reconnects to the new collector on its own.
		c2.waitLine(t, "worker connected", "interface="+iface)
	}
	c2.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c2.done:
	case <-time.After(30 * time.Second):
		t.Fatal("collector did not exit after SIGTERM")
	}
	if code := c2.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("collector exit code %d", code)
	}
	if alive(workerPID) {
		t.Error("worker still running after the collector stopped")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "log", "ntp_"+iface+".log")); !strings.Contains(string(b), stoppedLine) {
		t.Errorf("worker not stopped with SIGTERM:\n%s", b)
	}
	// Supervisor stopped before ingestion drained.
	c2.mu.Lock()
	order := strings.Join(c2.lines, "\n")
	c2.mu.Unlock()
	if i, j := strings.Index(order, "all workers stopped"), strings.Index(order, "ingestion shutting down"); i < 0 || j < 0 || i > j {
		t.Errorf("workers were not stopped before ingestion drained (positions %d, %d)", i, j)
	}
	if m, _ := desiredOf(t, db, iface); !m.Enabled {
		t.Error("desired state lost on SIGTERM")
	}
}

// TestRealWorkerInterfaceRemoved: the interface of a running real worker
// disappears; the worker exits, every restart fails at once, and the
// supervisor gives up with the worker's own error in the status.
func TestRealWorkerInterfaceRemoved(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a veth pair and captures on it")
	}
	dir := t.TempDir()
	iface := testInterface(t)
	cfg := fastConfig(t, dir, buildRealWorker(t, dir), nil)
	cfg.IngestionPort = freePort(t) // nothing listens: the worker must not reach another test's collector
	s := newSupervisor(t, cfg)
	st, err := s.Start(context.Background(), iface, Options{})
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, s, iface, StateRunning)
	if out, err := exec.Command("ip", "link", "del", iface).CombinedOutput(); err != nil {
		t.Fatalf("ip link del: %v: %s", err, out)
	}
	st = waitState(t, s, iface, StateFailed)
	tail := strings.Join(st.LastLogLines, "\n")
	if !strings.Contains(tail, "no such interface") || st.LastExit == nil || st.LastExit.Code == 0 {
		t.Errorf("failed status does not say why: last exit %+v, log tail:\n%s", st.LastExit, tail)
	}
	t.Logf("last log lines:\n%s", tail)
}

// TestRealWorkerCapabilities runs a supervisor as an unprivileged user, as
// the systemd unit does. Without capabilities the real worker cannot open
// the interface, exits at once, and after the capped restarts the status is
// failed with the worker's permission error among the last log lines. With
// CAP_NET_RAW and CAP_NET_ADMIN as ambient capabilities (the unit's
// AmbientCapabilities=) the spawned worker inherits them and runs.
func TestRealWorkerCapabilities(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a veth pair and switches to an unprivileged user")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv not installed")
	}
	// Everything the unprivileged process touches lives in a world-
	// accessible directory of the test's own.
	dir, err := os.MkdirTemp("", "supervisor-caps-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	worker := buildRealWorker(t, dir)
	self, _ := os.ReadFile(os.Args[0])
	helper := filepath.Join(dir, "collector-helper")
	if err := os.WriteFile(helper, self, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, caps ...string) Status {
		iface := testInterface(t)
		sub := filepath.Join(dir, iface)
		os.Mkdir(sub, 0o777)
		os.Chmod(sub, 0o777) // past the umask
		b, _ := json.Marshal(helperConfig{Dir: sub, Bin: worker, DB: filepath.Join(sub, "ntp.db"), Iface: iface, UntilSettled: true})
		args := append([]string{"--reuid=65534", "--regid=65534", "--clear-groups"}, caps...)
		cmd := exec.Command(setpriv, append(args, helper, "-test.run=^$")...)
		cmd.Env = append(os.Environ(), helperEnv+"="+string(b))
		cmd.Stderr = tWriter{t}
		cmd.Dir = sub
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("unprivileged supervisor: %v", err)
		}
		var st Status
		if err := json.Unmarshal(out, &st); err != nil {
			t.Fatalf("status %q: %v", out, err)
		}
		t.Logf("status %s; last log lines:\n%s", st.State, strings.Join(st.LastLogLines, "\n"))
		return st
	}
	t.Run("none", func(t *testing.T) {
		st := run(t, "--inh-caps=-all", "--bounding-set=-all")
		if st.State != StateFailed || st.Restarts != 3 {
			t.Fatalf("state %s after %d restarts, want failed after 3", st.State, st.Restarts)
		}
		if !strings.Contains(strings.ToLower(strings.Join(st.LastLogLines, "\n")), "permission") {
			t.Error("the worker's permission error is not among the last log lines")
		}
	})
	t.Run("ambient", func(t *testing.T) {
		st := run(t, "--inh-caps=+net_raw,+net_admin", "--ambient-caps=+net_raw,+net_admin", "--bounding-set=-all,+net_raw,+net_admin")
		if st.State != StateRunning || st.Restarts != 0 {
			t.Fatalf("state %s after %d restarts, want running", st.State, st.Restarts)
		}
	})
}
