package supervisor

import (
	"bufio"
	"context"
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

// buildCollector builds cmd/ntp-collector into dir.
func buildCollector(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "ntp-collector")
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "../../cmd/ntp-collector")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building ntp-collector: %v\n%s", err, out)
	}
	return bin
}

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
	dir := t.TempDir()
	iface := testInterface(t)
	collector := buildCollector(t, dir)
	worker := standin(t, dir)
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
	if b, _ := os.ReadFile(filepath.Join(dir, "log", "ntp_"+iface+".log")); !strings.Contains(string(b), "SIGTERM: flushed") {
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
