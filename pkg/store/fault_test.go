package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
)

// mountTmpfs mounts a tmpfs of the given size (mount(8) syntax, e.g. "4m")
// on a fresh directory and unmounts it when the test ends. It skips the test
// when not root: only a real full or read-only file system shows what SQLite
// does on one.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs for the fault")
	}
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs (%v): %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func remount(t *testing.T, dir, opts string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+opts, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s %s: %v: %s", dir, opts, err, out)
	}
}

// fill writes a file in dir until the file system is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	return name
}

// batchOf makes a batch of n sessions over n distinct clients from worker w.
func batchOf(w string, seq0 uint64, n int, seed uint64) *Batch {
	g := storetest.NewGenerator(n, seed)
	b := NewBatch()
	var s session.Session
	for i := range n {
		g.Next(&s)
		s.ClientIP = storetest.Client(i)
		b.Add(w, "eth0", seq0+uint64(i), &s)
	}
	return b
}

// counted is the number of sessions (of any mode) stored.
func counted(t *testing.T, s *Store) int64 {
	t.Helper()
	var n int64
	if err := s.ReadDB().QueryRow(`SELECT coalesce(sum(session_count + mode1_count + mode2_count
		+ mode5_count + mode6_count + mode7_count), 0) FROM ntp_clients`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDiskFull commits into a full tmpfs: the commit fails with ErrDiskFull
// and writes nothing, the store stays usable, and once space is freed the
// very same batch commits with nothing lost or doubled.
func TestDiskFull(t *testing.T) {
	dir := mountTmpfs(t, "64m")
	s := openAt(t, filepath.Join(dir, "ntp.db"), Options{})
	ctx := context.Background()

	first := batchOf("w", 1, 100, 1)
	if _, err := s.Commit(ctx, first); err != nil {
		t.Fatal(err)
	}
	filler := fill(t, dir)

	big := batchOf("w", 101, 20000, 2) // several MiB of WAL
	for attempt := range 2 {
		_, err := s.Commit(ctx, big)
		if !errors.Is(err, ErrDiskFull) {
			t.Fatalf("attempt %d: Commit on a full disk = %v, want ErrDiskFull", attempt, err)
		}
		t.Logf("attempt %d: %v", attempt, err)
		if n := counted(t, s); n != 100 {
			t.Fatalf("after the failed commit %d sessions stored, want 100", n)
		}
		if hw, err := s.HighWater(ctx, "w"); hw != 100 || err != nil {
			t.Fatalf("high-water after the failed commit = %d, %v; want 100", hw, err)
		}
	}
	if big.Len() != 20000 {
		t.Fatalf("failed commit changed the batch: %d sessions", big.Len())
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	res, err := s.Commit(ctx, big)
	if err != nil {
		t.Fatalf("Commit after freeing space: %v", err)
	}
	if res.Inserted+res.Updated != big.Rows() {
		t.Errorf("CommitResult %+v for %d rows", res, big.Rows())
	}
	if n := counted(t, s); n != 20100 {
		t.Errorf("%d sessions stored, want 20100", n)
	}
	if hw, _ := s.HighWater(ctx, "w"); hw != 20100 {
		t.Errorf("high-water = %d, want 20100", hw)
	}
}

// TestReadOnlyDirectory opens a database on a read-only mount, then on the
// same mount made writable, then on an existing database whose file system
// went read-only.
func TestReadOnlyDirectory(t *testing.T) {
	dir := mountTmpfs(t, "16m")
	ctx := context.Background()
	pending := batchOf("w", 1, 50, 3)

	remount(t, dir, "ro")
	for _, p := range []string{filepath.Join(dir, "ntp.db"), filepath.Join(dir, "data", "ntp.db")} {
		_, err := Open(ctx, p, quiet(t, Options{}))
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("Open(%s) on a read-only mount = %v, want ErrReadOnly", p, err)
		} else {
			t.Logf("Open(%s): %v", p, err)
		}
	}

	remount(t, dir, "rw")
	path := filepath.Join(dir, "data", "ntp.db")
	s, err := Open(ctx, path, quiet(t, Options{}))
	if err != nil {
		t.Fatalf("Open after remounting rw: %v", err)
	}
	if _, err := s.Commit(ctx, pending); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// An existing database on a file system that is now read-only.
	remount(t, dir, "ro")
	_, err = Open(ctx, path, quiet(t, Options{}))
	if !errors.Is(err, ErrReadOnly) {
		t.Errorf("Open of an existing database on a read-only mount = %v, want ErrReadOnly", err)
	} else {
		t.Logf("existing file: %v", err)
	}
	remount(t, dir, "rw")
	s = openAt(t, path, Options{})
	if n := counted(t, s); n != 50 {
		t.Errorf("%d sessions after remount, want 50", n)
	}
}

// TestUnwritableDirectory is the same fault through permissions, for
// unprivileged runs (root ignores directory modes).
func TestUnwritableDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions; TestReadOnlyDirectory covers the fault with a read-only mount")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	if _, err := Open(context.Background(), filepath.Join(dir, "ntp.db"), quiet(t, Options{})); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Open in a 0555 directory = %v, want ErrReadOnly", err)
	}
	if _, err := Open(context.Background(), filepath.Join(dir, "sub", "ntp.db"), quiet(t, Options{})); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Open under a 0555 directory = %v, want ErrReadOnly", err)
	}
}

func TestPathUnderAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), filepath.Join(f, "ntp.db"), quiet(t, Options{}))
	if err == nil || !strings.Contains(err.Error(), "create database directory") {
		t.Errorf("Open under a regular file = %v", err)
	}
}

// TestCorruptedFile opens files that are not databases or are damaged.
func TestCorruptedFile(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		corrupt func(t *testing.T, path string)
		opts    Options
	}{
		{"garbage", func(t *testing.T, path string) {
			b := []byte(strings.Repeat("this is not an SQLite database\n", 200))
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, Options{}},
		{"damaged pages", func(t *testing.T, path string) {
			s, err := Open(ctx, path, quiet(t, Options{}))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Commit(ctx, batchOf("old", 1, 3000, 4)); err != nil {
				t.Fatal(err)
			}
			s.Close()
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, _ := f.Stat()
			junk := []byte(strings.Repeat("\xde\xad\xbe\xef", 4096/4))
			for off := int64(2 * 4096); off < fi.Size(); off += 3 * 4096 {
				f.WriteAt(junk, off)
			}
		}, Options{QuickCheck: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ntp.db")
			tc.corrupt(t, path)
			pending := batchOf("w", 1, 40, 5)
			_, err := Open(ctx, path, quiet(t, tc.opts))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), "move the file aside") {
				t.Errorf("error %q gives no hint", err)
			}
			t.Logf("%v", err)
			// The operator moves the file aside; the same batch commits.
			if err := os.Rename(path, path+".corrupt"); err != nil {
				t.Fatal(err)
			}
			s := openAt(t, path, Options{})
			if _, err := s.Commit(ctx, pending); err != nil {
				t.Fatal(err)
			}
			if n := counted(t, s); n != 40 {
				t.Errorf("%d sessions, want 40", n)
			}
		})
	}
}

// TestCommitCancelled cancels a commit: nothing is written and the batch
// commits afterwards.
func TestCommitCancelled(t *testing.T) {
	s := openTest(t, Options{})
	b := batchOf("w", 1, 500, 6)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Commit(ctx, b); !errors.Is(err, context.Canceled) {
		t.Fatalf("Commit with a cancelled context = %v", err)
	}
	if _, err := s.Commit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if n := counted(t, s); n != 500 {
		t.Errorf("%d sessions, want 500", n)
	}
}

// TestLockedByAnotherProcess holds the write lock from another connection,
// as an sqlite3 shell in a transaction would: the commit gives up after the
// busy timeout with ErrLocked, and commits once the lock is released.
func TestLockedByAnotherProcess(t *testing.T) {
	s := openTest(t, Options{BusyTimeout: 50 * time.Millisecond})
	ctx := context.Background()
	other, err := sql.Open("sqlite", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	b := batchOf("w", 1, 30, 7)
	if _, err := s.Commit(ctx, b); !errors.Is(err, ErrLocked) {
		t.Fatalf("Commit while another connection holds the lock = %v, want ErrLocked", err)
	} else {
		t.Log(err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, b); err != nil {
		t.Fatalf("Commit after the lock was released: %v", err)
	}
	if n := counted(t, s); n != 30 {
		t.Errorf("%d sessions, want 30", n)
	}
}
