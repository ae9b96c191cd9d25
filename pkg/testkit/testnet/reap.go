package testnet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/leftover"
)

// A test binary killed from outside, or one that `go test -timeout` ends,
// runs no cleanups. Each Net therefore keeps a small record of what it owns
// in stateDir: a file named after its ID, holding the owning process and
// every process the Net started, each as "pid starttime" so that a reused
// PID is never mistaken for ours. New reaps the records of owners that are
// gone: it kills their processes that still run, then deletes their
// namespaces, veths and bridge. Live owners' records are never touched.
const stateDir = "/run/ntp-monitor-testnet"

// dirKit is the package leftover kit that claims the daemons' directories
// (shortTempDir): they live as long as the test that made them, which can
// be shorter than its Net, so they are claimed apart from the Net's record.
const dirKit = "testnet-dirs"

// procStart returns a process's start time in clock ticks since boot
// (field 22 of /proc/PID/stat), which tells a process from a later one
// with the same PID.
func procStart(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command field", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); the start time is field 22.
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// alive reports whether pid still runs and started at start.
func alive(pid int, start uint64) bool {
	s, err := procStart(pid)
	return err == nil && s == start
}

// claim creates the Net's record holding its owner, the calling process.
// The record appears whole, through a rename, so that a reaper in another
// test binary never reads a record without its owner line.
func (n *Net) claim() error {
	pid := os.Getpid()
	start, err := procStart(pid)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return err
	}
	tmp := filepath.Join(stateDir, "."+n.ID+".new")
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "owner %d %d\n", pid, start), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(stateDir, n.ID))
}

// record appends a process the Net started, as "proc pid start", to the
// Net's record.
func (n *Net) record(pid int) error {
	start, err := procStart(pid)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(stateDir, n.ID), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "proc %d %d\n", pid, start)
	return errors.Join(err, f.Close())
}

// forget removes the Net's record once its teardown has run.
func (n *Net) forget() {
	_ = os.Remove(filepath.Join(stateDir, n.ID))
}

// reapStale cleans up after every Net whose owning process is gone, and
// removes the daemons' directories such owners left. It returns the IDs
// and the directories it reaped; each error names the one it concerns. Test
// binaries run in parallel, so a record may vanish while it is read (its
// owner tore down) and two reapers may clean up the same dead Net: neither
// is an error.
func reapStale(ctx context.Context) ([]string, error) {
	entries, err := os.ReadDir(stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var reaped []string
	var errs []error
	for _, e := range entries {
		id := e.Name()
		if !validID(id) {
			continue
		}
		path := filepath.Join(stateDir, id)
		owner, procs, err := readRecord(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reap %s: %w", id, err))
			continue
		}
		if alive(owner[0], uint64(owner[1])) {
			continue
		}
		for _, p := range procs {
			if alive(p[0], uint64(p[1])) {
				_ = syscall.Kill(p[0], syscall.SIGKILL)
			}
		}
		if err := removeByID(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("reap %s: %w", id, err))
			continue
		}
		_ = os.Remove(path)
		reaped = append(reaped, id)
	}
	dirs, err := leftover.Reap(dirKit, nil)
	return append(reaped, dirs...), errors.Join(append(errs, err)...)
}

func validID(id string) bool {
	if len(id) != 6 {
		return false
	}
	for _, c := range id {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// readRecord parses a record: the owner's pid and start time, and those of
// the processes it started.
func readRecord(path string) (owner [2]int, procs [][2]int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return owner, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kind string
		var pid, start int
		if _, err := fmt.Sscan(sc.Text(), &kind, &pid, &start); err != nil {
			return owner, nil, fmt.Errorf("%s: %q: %w", path, sc.Text(), err)
		}
		switch kind {
		case "owner":
			owner = [2]int{pid, start}
		case "proc":
			procs = append(procs, [2]int{pid, start})
		}
	}
	if owner[0] == 0 {
		return owner, nil, fmt.Errorf("%s: no owner line", path)
	}
	return owner, procs, sc.Err()
}

// removeByID deletes the namespaces named nm<id>-*, after killing what
// runs in them, and the links named nm<id>*.
func removeByID(ctx context.Context, id string) error {
	prefix := "nm" + id
	var errs []error
	nss, _ := os.ReadDir("/run/netns")
	for _, ns := range nss {
		if !strings.HasPrefix(ns.Name(), prefix+"-") {
			continue
		}
		if out, err := exec.CommandContext(ctx, "ip", "netns", "pids", ns.Name()).Output(); err == nil {
			for _, f := range strings.Fields(string(out)) {
				if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		// Give the killed processes a moment to leave the namespace.
		time.Sleep(50 * time.Millisecond)
		// A concurrent reaper may have deleted it first.
		if err := ipCmd(ctx, "netns", "del", ns.Name()); err != nil && nsExists(ns.Name()) {
			errs = append(errs, err)
		}
	}
	links, _ := os.ReadDir("/sys/class/net")
	for _, l := range links {
		if strings.HasPrefix(l.Name(), prefix) && linkExists(ctx, l.Name()) {
			// Deleting a veth end also deletes its peer, and a
			// concurrent reaper may have been first.
			if err := ipCmd(ctx, "link", "del", l.Name()); err != nil && linkExists(ctx, l.Name()) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
