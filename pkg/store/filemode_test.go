package store

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFilesPrivateWhateverTheUmask: under a umask of 0, a new database,
// its -wal and -shm are 0600 and its new directory 0750 (SQLite alone
// made the three 0644: anyone on the host could read the inventory); an
// existing world-readable database loses its other users' access and
// keeps its group's.
func TestFilesPrivateWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state", "ntp_clients.db")
	s := openAt(t, path, Options{})
	b := NewBatch()
	ss := sess("192.0.2.1", 1)
	b.Add("w", "eth0", 1, &ss)
	if _, err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{
		filepath.Dir(path): os.ModeDir | 0o750,
		path:               0o600,
		path + "-wal":      0o600,
		path + "-shm":      0o600,
	}
	for p, mode := range want {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", filepath.Base(p), fi.Mode(), mode)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A database an older version made 0644 and 0664.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o664); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	s2, err := Open(ctx, path, quiet(t, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			continue // the last close checkpointed and removed the WAL
		}
		if fi.Mode().Perm() != 0o660 {
			t.Errorf("%s reopened: mode %04o, want 0660", filepath.Base(p), fi.Mode().Perm())
		}
	}
}
