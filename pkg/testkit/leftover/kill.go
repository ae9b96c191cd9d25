package leftover

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// KillUsing sends SIGKILL to every process that belongs to dir, other than
// the calling one, and returns how many it signalled. A process belongs to
// dir when its working directory is dir or below it, or when one of its
// arguments is dir or a path below it, alone or as the value of a
// --flag=value.
//
// A process that is being killed can still fork, and a server's children
// can outlive it for a moment, so KillUsing looks again until it has found
// nothing three times in a row, for 5 s at most. Processes of other users
// than the caller are only seen when the caller is root.
func KillUsing(dir string) int {
	dir = filepath.Clean(dir)
	total, quiet := 0, 0
	deadline := time.Now().Add(5 * time.Second)
	for quiet < 3 && time.Now().Before(deadline) {
		n := killOnce(dir)
		total += n
		if n == 0 {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(10 * time.Millisecond)
	}
	return total
}

func killOnce(dir string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	self := os.Getpid()
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || pid <= 1 {
			continue
		}
		if zombie(pid) || !belongs(pid, dir) {
			continue
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}

// belongs reports whether the process pid works in dir or names it in its
// arguments.
func belongs(pid int, dir string) bool {
	proc := "/proc/" + strconv.Itoa(pid)
	if cwd, err := os.Readlink(proc + "/cwd"); err == nil && within(cwd, dir) {
		return true
	}
	cmdline, err := os.ReadFile(proc + "/cmdline")
	if err != nil {
		return false
	}
	for arg := range bytes.SplitSeq(cmdline, []byte{0}) {
		a := string(arg)
		if _, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(a, "-") {
			a = v
		}
		if within(a, dir) {
			return true
		}
	}
	return false
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// zombie reports whether pid has exited and waits for its parent to reap
// it: a signal changes nothing for it.
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}
