package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFilesPrivateWhateverTheUmask: with a umask of 0 the PID and log
// directories are 0750, the PID file 0600 (a stale temporary one of a
// collector that died is not reused with its mode), the log 0640.
func TestFilesPrivateWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	iface := testInterface(t)
	cfg := fastConfig(t, dir, standin(t, dir), nil)
	// A temporary PID file left world-readable by an older collector.
	os.MkdirAll(cfg.PIDDir, 0o750)
	stale := filepath.Join(cfg.PIDDir, "ntp_"+iface+".pid.tmp")
	os.WriteFile(stale, []byte("1\n"), 0o666)
	s := newSupervisor(t, cfg)
	if _, err := s.Start(context.Background(), iface, Options{}); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, iface, StateRunning)
	for path, want := range map[string]os.FileMode{
		cfg.LogDir: 0o750 | os.ModeDir,
		filepath.Join(cfg.PIDDir, "ntp_"+iface+".pid"): 0o600,
		filepath.Join(cfg.LogDir, "ntp_"+iface+".log"): 0o640,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
	if _, err := s.Stop(context.Background(), iface); err != nil {
		t.Fatal(err)
	}
}
