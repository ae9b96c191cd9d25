// Package procstat reads what a test measures of a process: its resident
// memory and file descriptors from /proc, and this process's heap. Tests
// of bounded resources (slow clients, silent workers, floods, the soak)
// quote these figures before, during and after the load; the load
// generators in scripts/ read the collector's peak RSS through it.
//
// It reads only /proc and the Go runtime, and is never imported by the
// product.
package procstat

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// SelfFDs is the number of file descriptors this process holds; the test
// is skipped where there is no /proc to count them in.
func SelfFDs(t testing.TB) int {
	t.Helper()
	n, err := FDs(0)
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return n
}

// FDs is the number of file descriptors process pid holds (0: this one).
func FDs(pid int) (int, error) {
	dir := "/proc/self/fd"
	if pid > 0 {
		dir = fmt.Sprintf("/proc/%d/fd", pid)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	return len(ents), nil
}

// Status reads one kB field of /proc/PID/status (VmRSS, VmHWM) in bytes.
func Status(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		return kb << 10, err
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

// HeapInUse is this process's heap in use after a full collection, so
// that what the load left reachable is all that counts.
func HeapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
