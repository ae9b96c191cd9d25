package leftover

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testKit names the state directory of these tests, apart from the kits'.
const testKit = "leftover-test"

func TestProcOf(t *testing.T) {
	self, err := ProcOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !self.Alive() {
		t.Errorf("%+v: this process is not alive", self)
	}
	if (Proc{PID: self.PID, Start: self.Start + 1}).Alive() {
		t.Errorf("a process with this PID and another start time is alive")
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := ProcOf(cmd.Process.Pid); err == nil {
		t.Errorf("ProcOf(%d) of a reaped process: no error", cmd.Process.Pid)
	}
}

// blocked starts sh blocked on a read of its stdin, in the working
// directory cwd, with args after the script; it is killed by PID when the
// test ends if it still runs.
func blocked(t *testing.T, cwd string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"-c", "read x", "sh"}, args...)...)
	cmd.Dir = cwd
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		w.Close()
	})
	return cmd
}

func TestKillUsing(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "data")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	byCwd := blocked(t, sub)
	byArg := blocked(t, other, dir)
	byFlag := blocked(t, other, "--user-data-dir="+sub)
	// Names that only start like dir, and a working directory elsewhere.
	bystander := blocked(t, other, dir+"x", "--dir="+dir+"-old", "x="+dir)

	if n := KillUsing(dir); n != 3 {
		t.Errorf("KillUsing signalled %d processes, want 3", n)
	}
	for name, cmd := range map[string]*exec.Cmd{"cwd": byCwd, "argument": byArg, "flag": byFlag} {
		if !gone(cmd.Process.Pid) {
			t.Errorf("the process with dir as its %s (pid %d) still runs", name, cmd.Process.Pid)
		}
	}
	if gone(bystander.Process.Pid) {
		t.Errorf("the process that only has names like dir (pid %d) was killed", bystander.Process.Pid)
	}
}

// gone reports whether pid has exited or is a zombie, waiting up to a
// second for it: a killed process needs a moment.
func gone(pid int) bool {
	for range 100 {
		if zombie(pid) {
			return true
		}
		syscall.Nanosleep(&syscall.Timespec{Nsec: 10e6}, nil)
	}
	return false
}

// deadClaim writes a claim on a new directory, with a process running in
// it, whose owner is this process's PID with a start time it never had.
func deadClaim(t *testing.T) (dir string, proc *exec.Cmd) {
	t.Helper()
	dir, err := os.MkdirTemp("", "ntpm-leftover-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	proc = blocked(t, dir)
	state, err := StateDir(testKit)
	if err != nil {
		t.Fatal(err)
	}
	self, err := ProcOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(state, filepath.Base(dir))
	text := fmt.Sprintf("owner %d %d\ndir %s\n", self.PID, self.Start+1, dir)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	return dir, proc
}

func TestReap(t *testing.T) {
	dead, proc := deadClaim(t)
	live, err := os.MkdirTemp("", "ntpm-leftover-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(live) })
	rec, err := Claim(testKit, live)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Release)

	var cleaned []string
	sawDir := false
	var mu sync.Mutex
	clean := func(dir string) error {
		mu.Lock()
		defer mu.Unlock()
		// clean runs before the directory goes, so that a kit can
		// read what it needs from it; only a reaper that comes second
		// finds it gone.
		if _, err := os.Stat(dir); err == nil {
			sawDir = true
		}
		cleaned = append(cleaned, dir)
		return nil
	}
	// Reapers side by side, as parallel test binaries run them.
	const reapers = 4
	var wg sync.WaitGroup
	for range reapers {
		wg.Go(func() {
			reaped, err := Reap(testKit, clean)
			if err != nil {
				t.Errorf("Reap: %v", err)
			}
			for _, d := range reaped {
				if d == live {
					t.Errorf("Reap reaped %s, whose owner is alive", live)
				}
			}
		})
	}
	wg.Wait()
	for _, d := range cleaned {
		if d != dead {
			t.Errorf("clean called with %s, want only %s", d, dead)
		}
	}
	if !sawDir {
		t.Errorf("no clean (of %d) saw the directory still there", len(cleaned))
	}
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dead owner's directory %s: %v, want gone", dead, err)
	}
	if !gone(proc.Process.Pid) {
		t.Errorf("the process in the dead owner's directory (pid %d) still runs", proc.Process.Pid)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("live owner's directory: %v", err)
	}
	if _, err := os.Stat(rec.path); err != nil {
		t.Errorf("live owner's claim: %v", err)
	}
	state, _ := StateDir(testKit)
	if _, err := os.Stat(filepath.Join(state, filepath.Base(dead))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dead owner's claim: %v, want gone", err)
	}
}

// A clean that fails leaves the directory and the claim for the next
// reaper, and its error names the directory.
func TestReapCleanFails(t *testing.T) {
	dead, _ := deadClaim(t)
	failed := errors.New("segment still attached")
	_, err := Reap(testKit, func(dir string) error {
		if dir == dead {
			return failed
		}
		return nil
	})
	if !errors.Is(err, failed) || !strings.Contains(fmt.Sprint(err), dead) {
		t.Errorf("Reap: %v, want %v naming %s", err, failed, dead)
	}
	if _, err := os.Stat(dead); err != nil {
		t.Errorf("directory after a failed clean: %v", err)
	}
	if _, err := Reap(testKit, nil); err != nil {
		t.Errorf("second Reap: %v", err)
	}
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory after the second Reap: %v, want gone", err)
	}
}

func TestReadRecord(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		ok         bool
	}{
		{"claim", "owner 12 345\ndir /tmp/ntpm-pg-1\n", true},
		{"no owner", "dir /tmp/ntpm-pg-1\n", false},
		{"bad owner", "owner twelve 345\ndir /tmp/ntpm-pg-1\n", false},
		{"no dir", "owner 12 345\n", false},
		{"relative dir", "owner 12 345\ndir ntpm-pg-1\n", false},
		{"root", "owner 12 345\ndir /\n", false},
		{"root, spelt long", "owner 12 345\ndir /tmp/..\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "claim")
			if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			owner, dir, err := readRecord(path)
			if tc.ok != (err == nil) {
				t.Fatalf("readRecord(%q) = %+v, %q, %v; want ok %v", tc.text, owner, dir, err, tc.ok)
			}
			if tc.ok && (owner != Proc{PID: 12, Start: 345} || dir != "/tmp/ntpm-pg-1") {
				t.Errorf("readRecord(%q) = %+v, %q", tc.text, owner, dir)
			}
		})
	}
}

// TestRunKilled reaps the claim of a real owner killed with SIGKILL: a
// child test that claimed a directory and left a process working in it.
// RunKilled must remove the child's own t.TempDir directories.
func TestRunKilled(t *testing.T) {
	if os.Getenv("LEFTOVER_REAP_CHILD") == "1" {
		kept := filepath.Join(t.TempDir(), "kept")
		if err := os.WriteFile(kept, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		dir, err := os.MkdirTemp("", "ntpm-leftover-")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Claim(testKit, dir); err != nil {
			t.Fatal(err)
		}
		// Its own session, so that it outlives the killed child.
		cmd := exec.Command("sleep", "300")
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		Ready(t, dir, cmd.Process.Pid, kept)
		time.Sleep(time.Minute)
		return
	}
	f := RunKilled(t, "LEFTOVER_REAP_CHILD")
	var dir, kept string
	var pid int
	if _, err := fmt.Sscan(strings.Join(f, " "), &dir, &pid, &kept); err != nil {
		t.Fatalf("child's READY %q: %v", f, err)
	}
	if root := filepath.Dir(filepath.Dir(kept)); !tempRoot(root, t.Name()) {
		t.Errorf("the child's t.TempDir %s is not in a temp root of this test", filepath.Dir(kept))
	} else if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the child's temp root %s: %v, want it gone", root, err)
	}
	t.Cleanup(func() {
		os.RemoveAll(dir)
		syscall.Kill(pid, syscall.SIGKILL)
	})
	if zombie(pid) {
		t.Fatalf("the process the child left (pid %d) is not running: the test proves nothing", pid)
	}
	reaped, err := Reap(testKit, nil)
	if err != nil {
		t.Errorf("Reap: %v", err)
	}
	if !slices.Contains(reaped, dir) {
		t.Errorf("Reap reaped %q, want %s", reaped, dir)
	}
	if !gone(pid) {
		t.Errorf("the process in the killed owner's directory (pid %d) still runs", pid)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: %v, want it gone", dir, err)
	}
}

func TestTempRoot(t *testing.T) {
	t.Setenv("GOTMPDIR", "")
	root := filepath.Dir(t.TempDir())
	if !tempRoot(root, t.Name()) {
		t.Errorf("tempRoot(%q, %q) = false for this test's own temp root", root, t.Name())
	}
	long := "Test" + strings.Repeat("X", 70)
	for _, tc := range []struct{ dir, name string }{
		{os.TempDir(), t.Name()},
		{filepath.Join(os.TempDir(), "ntpm-pg-1"), t.Name()},
		{filepath.Join(os.TempDir(), "TestOther123"), t.Name()},
		{filepath.Join(root, "001"), t.Name()},
		{"/" + filepath.Base(root), t.Name()},
		{filepath.Join(os.TempDir(), long[:63]+"1"), long},
	} {
		if tempRoot(tc.dir, tc.name) {
			t.Errorf("tempRoot(%q, %q) = true", tc.dir, tc.name)
		}
	}
	if dir := filepath.Join(os.TempDir(), long[:64]+"123"); !tempRoot(dir, long+"/sub") {
		t.Errorf("tempRoot(%q, %q) = false", dir, long+"/sub")
	}
}
