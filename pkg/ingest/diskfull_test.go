package ingest_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
)

// mountTmpfs mounts a small tmpfs of its own and unmounts it when the test
// ends.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a size-limited tmpfs needs root; run as root to test a full disk")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes a file until the file system has no space left.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", path, err)
			}
			break
		}
	}
	// The last partial block: write byte by byte until nothing fits.
	for {
		if _, err := f.Write(chunk[:1]); err != nil {
			break
		}
	}
}

// The disk fills up under the database: commits fail, the batch is kept and
// retried, nothing more is acknowledged, the workers are pushed back. When
// space comes back every session is committed, once.
func TestDiskFullDuringCommit(t *testing.T) {
	dir := mountTmpfs(t, "16m")
	path := filepath.Join(dir, "ntp_clients.db")
	h := startOn(t, ingest.Config{BatchSize: 500, BatchInterval: 20 * time.Millisecond, StuckAfter: 200 * time.Millisecond},
		path, store.Options{})
	c := connect(t, h.addr, "w-full")
	first := storetest.Sessions(200, 200, 10)
	sendAll(t, c, first)
	waitAcked(t, c, 200)

	filler := filepath.Join(dir, "filler")
	fill(t, filler)
	more := storetest.Sessions(6000, 6000, 11) // mostly new clients: new pages
	sendAll(t, c, more)
	waitFor(t, "failing commits", func() bool { return h.srv.Snapshot().CommitFailures >= 2 })
	snap := h.srv.Snapshot()
	acked := c.Acked()
	if !strings.Contains(snap.LastCommitError, "disk full") {
		t.Errorf("last commit error %q does not say the disk is full", snap.LastCommitError)
	}
	if err := h.srv.Health(); err == nil {
		time.Sleep(300 * time.Millisecond)
		if err := h.srv.Health(); err == nil {
			t.Error("Health is nil while commits fail for longer than StuckAfter")
		}
	}
	t.Logf("disk full: acked %d of %d, commit failures %d, error %q", acked, 6200, snap.CommitFailures, snap.LastCommitError)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitAcked(t, c, 6200)
	if got := h.packets(); got != 6200 {
		t.Errorf("store holds %d sessions, want 6200", got)
	}
	if s := h.srv.Snapshot(); s.DuplicatesSkipped != 0 || s.LastCommitError != "" {
		t.Errorf("after recovery: duplicates %d, last error %q", s.DuplicatesSkipped, s.LastCommitError)
	}
	if err := h.srv.Health(); err != nil {
		t.Errorf("Health after recovery: %v", err)
	}
}
