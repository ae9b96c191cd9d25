package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

// helperEnv makes the test binary run collectorHelper instead of the tests:
// a supervisor in a process of its own, which a test can kill like a
// crashed collector.
const helperEnv = "SUPERVISOR_TEST_COLLECTOR"

type helperConfig struct {
	Dir, Bin, DB, Iface string
	// UntilSettled makes the helper use short restart timings, wait until
	// the worker is running or failed, print its status as JSON and exit.
	UntilSettled bool
}

// collectorHelper starts one worker through a supervisor backed by a real
// store, prints its PID and waits to be killed.
func collectorHelper() int {
	var hc helperConfig
	if err := json.Unmarshal([]byte(os.Getenv(helperEnv)), &hc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	db, err := store.Open(ctx, hc.DB, store.Options{Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cfg := Config{
		WorkerBin: hc.Bin, PIDDir: filepath.Join(hc.Dir, "run"), LogDir: filepath.Join(hc.Dir, "log"),
		IngestionHost: "127.0.0.1", IngestionPort: 10000, Token: "s3cret-token", Desired: db, Logger: log,
	}
	if hc.UntilSettled {
		cfg.BackoffMin, cfg.BackoffMax, cfg.MaxRestarts, cfg.RunningAfter = 20*time.Millisecond, 100*time.Millisecond, 3, 3*time.Second
	}
	s, err := New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	st, err := s.Start(ctx, hc.Iface, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if hc.UntilSettled {
		for st.State == StateStarting || st.State == StateBackingOff {
			time.Sleep(20 * time.Millisecond)
			st, _ = s.Status(hc.Iface)
		}
		b, _ := json.Marshal(st)
		fmt.Printf("%s\n", b)
		s.Shutdown(ctx)
		return 0
	}
	fmt.Printf("PID %d\n", st.PID)
	select {}
}

// runCollectorHelper runs collectorHelper, waits for its worker's PID, then
// kills the helper with SIGKILL and returns that PID: the worker is left
// orphaned, as after a collector crash.
func runCollectorHelper(t *testing.T, hc helperConfig) int {
	t.Helper()
	b, _ := json.Marshal(hc)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(b))
	cmd.Stderr = tWriter{t}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var pid int
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("collector helper exited without starting a worker")
		}
		pid, err = strconv.Atoi(strings.TrimPrefix(l, "PID "))
		if err != nil {
			t.Fatalf("collector helper said %q", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("collector helper did not start a worker")
	}
	cmd.Process.Kill()
	cmd.Wait()
	return pid
}

// orphanedWorker runs a supervisor in a separate process, as a collector
// would, has it start a stand-in worker on a test interface and kills it
// with SIGKILL: what a new supervisor finds after a collector crash. It
// returns the run's directory, database, interface, worker binary and the
// orphaned worker's PID, which is killed when the test ends.
func orphanedWorker(t *testing.T) (dir, dbPath, iface, bin string, workerPID int) {
	t.Helper()
	dir = t.TempDir()
	dbPath = filepath.Join(dir, "ntp.db")
	iface = testInterface(t)
	bin = standin(t, dir)
	workerPID = runCollectorHelper(t, helperConfig{Dir: dir, Bin: bin, DB: dbPath, Iface: iface})
	t.Cleanup(func() { killPID(workerPID) })
	return dir, dbPath, iface, bin, workerPID
}
