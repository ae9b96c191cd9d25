package pgtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// removeSegment removes the System V shared memory segment of the cluster
// under dir, when a server that was killed (SIGKILL) left it: a server that
// shuts down removes its own, and deletes postmaster.pid, which names it.
// It is the clean step of pgtest's reaper too, so a missing dir is fine.
func removeSegment(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	// Line 7 holds the segment's key and ID: "  9979600         4".
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) < 7 {
		return nil // the server died while it was starting
	}
	f := bytes.Fields(lines[6])
	if len(f) != 2 {
		return nil
	}
	key, err1 := strconv.ParseInt(string(f[0]), 10, 32)
	id, err2 := strconv.Atoi(string(f[1]))
	if err1 != nil || err2 != nil {
		return fmt.Errorf("pgtest: %s: shared memory line %q", dir, lines[6])
	}
	var desc unix.SysvShmDesc
	if _, err := unix.SysvShmCtl(id, unix.IPC_STAT, &desc); err != nil {
		return nil // gone already
	}
	// The ID may have been reused since: only this cluster's key, and
	// only once no process is attached.
	if int64(desc.Perm.Key) != key {
		return nil
	}
	if desc.Nattch != 0 {
		return fmt.Errorf("pgtest: %s: shared memory segment %d still has %d processes attached", dir, id, desc.Nattch)
	}
	if _, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EIDRM) {
		return fmt.Errorf("pgtest: %s: remove shared memory segment %d: %w", dir, id, err)
	}
	return nil
}
