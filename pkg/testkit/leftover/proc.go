package leftover

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Proc identifies a process across PID reuse: its PID and its start time in
// clock ticks since boot.
type Proc struct {
	PID   int
	Start uint64
}

// ProcOf returns the Proc of a running process.
func ProcOf(pid int) (Proc, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Proc{}, err
	}
	// The command (field 2) is in parentheses and may hold spaces or
	// parentheses of its own: the fields that follow start after the
	// last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Proc{}, fmt.Errorf("/proc/%d/stat: no command field", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); the start time is field 22.
	if len(f) < 20 {
		return Proc{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return Proc{}, fmt.Errorf("/proc/%d/stat: start time: %w", pid, err)
	}
	return Proc{PID: pid, Start: start}, nil
}

// Alive reports whether the process still runs: a process with its PID
// exists and started at its start time.
func (p Proc) Alive() bool {
	q, err := ProcOf(p.PID)
	return err == nil && q.Start == p.Start
}
