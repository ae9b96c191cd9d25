package pgtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/leftover"
)

// segmentID returns the shared memory segment the running server under
// dir named in its pid file.
func segmentID(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var key, id int
	if len(lines) < 7 {
		t.Fatalf("postmaster.pid: %q", b)
	}
	if _, err := fmt.Sscan(lines[6], &key, &id); err != nil {
		t.Fatalf("postmaster.pid line 7 %q: %v", lines[6], err)
	}
	return id
}

func segmentExists(id int) bool {
	var desc unix.SysvShmDesc
	_, err := unix.SysvShmCtl(id, unix.IPC_STAT, &desc)
	return err == nil
}

// running reports whether pid runs; a zombie does not.
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// gone reports whether pid has stopped running, waiting up to 3 s for it:
// a killed process needs a moment.
func gone(pid int) bool {
	for range 300 {
		if !running(pid) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// claimed reports whether a claim on dir is in pgtest's state directory.
func claimed(t *testing.T, dir string) bool {
	t.Helper()
	state, err := leftover.StateDir(kit)
	if err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat(filepath.Join(state, filepath.Base(dir)))
	return err == nil
}

// checkGone checks that nothing of the server under dir is left.
func checkGone(t *testing.T, dir string, pid, segment int) {
	t.Helper()
	if !gone(pid) {
		t.Errorf("postmaster %d still runs", pid)
	}
	if n := leftover.KillUsing(dir); n != 0 {
		t.Errorf("%d processes of the server were still running", n)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: %v, want it gone", dir, err)
	}
	if segmentExists(segment) {
		t.Errorf("shared memory segment %d is still there", segment)
	}
	if claimed(t, dir) {
		t.Errorf("the claim on %s is still there", dir)
	}
}

func TestCleanup(t *testing.T) {
	var dir string
	var pid, segment int
	t.Run("server", func(t *testing.T) {
		srv := New(t, Options{NoFsync: true})
		dir, pid, segment = srv.SocketDir(), srv.PID(), segmentID(t, srv.SocketDir())
		if !claimed(t, dir) {
			t.Errorf("no claim on %s while the server runs", dir)
		}
	})
	if dir == "" {
		t.Fatal("the server did not start")
	}
	checkGone(t, dir, pid, segment)
}

// TestReapAfterKill runs this test binary as a child that starts a server
// and is then killed with SIGKILL, so that no cleanup runs, and checks that
// the next reap leaves nothing of that server: no postmaster nor backend,
// no directory, no shared memory segment, no claim.
func TestReapAfterKill(t *testing.T) {
	if os.Getenv("PGTEST_REAP_CHILD") == "1" {
		srv := New(t, Options{NoFsync: true})
		leftover.Ready(t, srv.SocketDir(), srv.PID(), segmentID(t, srv.SocketDir()))
		time.Sleep(time.Minute)
		return
	}
	if _, err := binDir(); err != nil {
		t.Skip(err)
	}
	f := leftover.RunKilled(t, "PGTEST_REAP_CHILD")
	var dir string
	var pid, segment int
	if _, err := fmt.Sscan(strings.Join(f, " "), &dir, &pid, &segment); err != nil {
		t.Fatalf("child's READY %q: %v", f, err)
	}
	if !running(pid) || !segmentExists(segment) {
		t.Fatalf("the killed child left no server behind to reap (postmaster %d, segment %d): the test proves nothing", pid, segment)
	}
	// Another test binary's reaper may be first: judge by what is left.
	reaped, err := leftover.Reap(kit, removeSegment)
	t.Logf("reaped %v (errors: %v)", reaped, err)
	if err != nil && strings.Contains(err.Error(), dir) {
		t.Errorf("Reap: %v", err)
	}
	checkGone(t, dir, pid, segment)
}

func TestSkips(t *testing.T) {
	t.Run("no binaries", func(t *testing.T) {
		t.Setenv("NTP_PGTEST_BINDIR", t.TempDir())
		if _, err := binDir(); !errors.Is(err, ErrNoPostgres) {
			t.Errorf("binDir with an empty NTP_PGTEST_BINDIR: %v, want ErrNoPostgres", err)
		}
		var skipped bool
		t.Run("New", func(t *testing.T) {
			defer func() { skipped = t.Skipped() }()
			New(t, Options{})
		})
		if !skipped {
			t.Errorf("New did not skip without PostgreSQL")
		}
	})
	t.Run("no user", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("only root switches users")
		}
		if _, err := credential("ntpmon-no-such-user"); !errors.Is(err, ErrNoUser) {
			t.Errorf("credential of a missing user: %v, want ErrNoUser", err)
		}
		if c, err := credential("root"); err == nil {
			t.Errorf("credential(root) = %+v: PostgreSQL would refuse it", c)
		}
	})
}

func TestIdentifier(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"TestStore", "teststore"},
		{"TestStore/postgres/CIDR_v6", "teststore_postgres_cidr_v6"},
		{"Test-ß\"; DROP", "test_____drop"},
		{strings.Repeat("x", 100), strings.Repeat("x", 48)},
	} {
		if got := identifier(tc.in); got != tc.want {
			t.Errorf("identifier(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
