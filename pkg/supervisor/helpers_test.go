package supervisor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

// standinBin builds testdata/standin once per test binary run.
var standinBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "supervisor-standin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "ntp-worker")
	out, err := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "./testdata/standin").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building stand-in worker: %v\n%s", err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(collectorHelper())
	}
	code := m.Run()
	if bin, err := standinBin(); err == nil {
		os.RemoveAll(filepath.Dir(bin))
	}
	buildDirs.Range(func(dir, _ any) bool {
		os.RemoveAll(dir.(string))
		return true
	})
	os.Exit(code)
}

// standin returns the stand-in worker binary, copied into dir so that each
// test has its own file (adoption compares executables).
func standin(t *testing.T, dir string) string {
	t.Helper()
	src, err := standinBin()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "ntp-worker")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

func uniq(prefix string) string {
	b := make([]byte, 3)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// testInterface returns an interface for the test: a veth pair created (and
// removed at cleanup) by the test when running as root, else the loopback
// interface, which the stand-in worker does not really capture on anyway.
func testInterface(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Log("not root: using lo instead of a veth pair of the test's own")
		return "lo"
	}
	a, b := uniq("svt"), uniq("svp")
	if out, err := exec.Command("ip", "link", "add", a, "type", "veth", "peer", "name", b).CombinedOutput(); err != nil {
		t.Fatalf("ip link add %s: %v: %s", a, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", a).Run() })
	if out, err := exec.Command("ip", "link", "set", a, "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set %s up: %v: %s", a, err, out)
	}
	exec.Command("ip", "link", "set", b, "up").Run()
	return a
}

func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path, store.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// fastConfig is a Config with short timings for tests.
func fastConfig(t *testing.T, dir, bin string, desired DesiredState) Config {
	return Config{
		WorkerBin:        bin,
		PIDDir:           filepath.Join(dir, "run"),
		LogDir:           filepath.Join(dir, "log"),
		IngestionHost:    "127.0.0.1",
		IngestionPort:    10000,
		Token:            "s3cret-token",
		Desired:          desired,
		Logger:           testLogger(t),
		StopTimeout:      5 * time.Second,
		RunningAfter:     200 * time.Millisecond,
		BackoffMin:       20 * time.Millisecond,
		BackoffMax:       200 * time.Millisecond,
		MaxRestarts:      3,
		RestartWindow:    time.Minute,
		LogCheckInterval: 50 * time.Millisecond,
		PollInterval:     50 * time.Millisecond,
	}
}

func newSupervisor(t *testing.T, cfg Config) *Supervisor {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

// waitFor polls cond until it holds or 15 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitState(t *testing.T, s *Supervisor, name string, want State) Status {
	t.Helper()
	var st Status
	waitFor(t, fmt.Sprintf("%s to be %s", name, want), func() bool {
		var err error
		st, err = s.Status(name)
		return err == nil && st.State == want
	})
	return st
}

// alive reports whether pid is a live (non-zombie) process.
func alive(pid int) bool {
	st, err := procState(pid)
	return err == nil && st != 'Z' && st != 'X'
}

// killPID sends SIGKILL to a process the test started; it is no error if the
// process is already gone.
func killPID(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}

func desiredOf(t *testing.T, st *store.Store, name string) (store.MonitoredInterface, bool) {
	t.Helper()
	list, err := st.Monitored(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list {
		if m.Name == name {
			return m, true
		}
	}
	return store.MonitoredInterface{}, false
}

func mustErrIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}
