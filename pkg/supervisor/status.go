package supervisor

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// CaptureStats is the worker's latest stats line as the ingestion server
// received it.
type CaptureStats struct {
	At time.Time `json:"at"` // when the line arrived
	CaptureCounters
}

// CaptureCounters are the counters of a worker's stats line that a status
// shows. Their fields are wire.Stats's, in its order, so that a stats line
// converts in one step: a field added to wire.Stats does not compile here
// until it is given a JSON name or hidden. The hidden ones are in Go only.
type CaptureCounters struct {
	Time           time.Time `json:"-"` // the worker's clock; At is the collector's
	Packets        uint64    `json:"packets"`
	KernelReceived uint64    `json:"kernel_received"`
	KernelDrops    uint64    `json:"kernel_drops"`
	InterfaceDrops uint64    `json:"interface_drops"`
	DecodeErrors   uint64    `json:"decode_errors"`
	Pending        uint64    `json:"pending"`
	Evicted        uint64    `json:"-"`
	Sessions       uint64    `json:"sessions"`
	Answered       uint64    `json:"answered"`
	Unanswered     uint64    `json:"unanswered"`
	OtherModes     uint64    `json:"-"`
	Unmatched      uint64    `json:"-"`
	Sent           uint64    `json:"sent"`
	Acked          uint64    `json:"acked"`
	Lost           uint64    `json:"lost"`
	Spooled        uint64    `json:"spooled"`
	Shed           uint64    `json:"-"`
}

// Status is a snapshot of one supervised worker.
type Status struct {
	Interface string  `json:"interface"`
	State     State   `json:"state"`
	PID       int     `json:"pid,omitempty"` // 0 when no process is up
	Adopted   bool    `json:"adopted"`       // the process was started by an earlier collector run
	Options   Options `json:"options"`
	// StartedAt is when the current process started; Uptime is measured
	// from it (seconds).
	StartedAt *time.Time `json:"started_at,omitempty"`
	Uptime    float64    `json:"uptime_seconds"`
	// Restarts counts unplanned restarts since the last Start.
	Restarts int   `json:"restarts"`
	LastExit *Exit `json:"last_exit,omitempty"`
	// Argv is the exact command line the worker was (or will be) started
	// with; the token is not in it.
	Argv            []string `json:"argv"`
	IngestionTarget string   `json:"ingestion_target"` // host:port the worker sends to
	LogFile         string   `json:"log_file"`
	// LastLogLines is the tail of the worker's log, filled when the worker
	// exited unexpectedly (backing-off, failed).
	LastLogLines []string      `json:"last_log_lines,omitempty"`
	Stats        *CaptureStats `json:"stats,omitempty"`
}

// InterfaceInfo is one of the host's network interfaces with its monitoring
// state.
type InterfaceInfo struct {
	Name         string   `json:"name"`
	Index        int      `json:"index"`
	MTU          int      `json:"mtu"`
	HardwareAddr string   `json:"hardware_addr,omitempty"`
	Flags        []string `json:"flags"`     // e.g. "up", "broadcast", "loopback", "running", "multicast"
	Addresses    []string `json:"addresses"` // CIDR notation
	Up           bool     `json:"up"`
	// Monitoring is the supervised worker's state, StateStopped when none.
	Monitoring State `json:"monitoring"`
	PID        int   `json:"pid,omitempty"`
}

// Status reports the worker on name. An interface of the host that has no
// supervised worker is reported stopped; ErrNoSuchInterface is returned only
// when the host does not have it either.
func (s *Supervisor) Status(name string) (Status, error) {
	if err := ValidateName(name); err != nil {
		return Status{}, err
	}
	s.mu.Lock()
	w := s.workers[name]
	var st Status
	if w != nil {
		st = s.statusLocked(w)
	}
	s.mu.Unlock()
	if w == nil {
		if err := checkInterface(name); err != nil {
			return Status{}, err
		}
		st = Status{
			Interface:       name,
			State:           StateStopped,
			Argv:            s.argv(name, Options{}),
			IngestionTarget: s.target,
			LogFile:         s.LogFile(name),
		}
	}
	s.addStats(&st)
	return st, nil
}

func (s *Supervisor) statusLocked(w *worker) Status {
	st := Status{
		Interface:       w.name,
		State:           w.state,
		PID:             w.pid,
		Adopted:         w.adopted && w.pid != 0,
		Options:         w.opts,
		Restarts:        w.restarts,
		Argv:            append([]string(nil), w.argv...),
		IngestionTarget: s.target,
		LogFile:         w.logPath,
	}
	if w.pid != 0 && !w.startedAt.IsZero() {
		t := w.startedAt
		st.StartedAt = &t
		st.Uptime = time.Since(t).Seconds()
	}
	if w.lastExit != nil {
		ex := *w.lastExit
		st.LastExit = &ex
	}
	if w.state == StateFailed || w.state == StateBackingOff {
		st.LastLogLines = append([]string(nil), w.lastLines...)
	}
	return st
}

func (s *Supervisor) addStats(st *Status) {
	if s.cfg.WorkerStats == nil || !st.State.Active() {
		return
	}
	ws, at, ok := s.cfg.WorkerStats(st.Interface)
	if !ok {
		return
	}
	st.Stats = &CaptureStats{At: at, CaptureCounters: CaptureCounters(ws)}
}

// Statuses reports every supervised worker, ordered by interface name.
func (s *Supervisor) Statuses() []Status {
	s.mu.Lock()
	out := make([]Status, 0, len(s.workers))
	for _, w := range s.workers {
		out = append(out, s.statusLocked(w))
	}
	s.mu.Unlock()
	for i := range out {
		s.addStats(&out[i])
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Interface, b.Interface) })
	return out
}

// Interfaces lists the host's network interfaces with their monitoring
// state.
func (s *Supervisor) Interfaces(ctx context.Context) ([]InterfaceInfo, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("supervisor: listing interfaces: %w", err)
	}
	out := make([]InterfaceInfo, 0, len(ifs))
	for _, ifc := range ifs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		info := InterfaceInfo{
			Name:         ifc.Name,
			Index:        ifc.Index,
			MTU:          ifc.MTU,
			HardwareAddr: ifc.HardwareAddr.String(),
			Flags:        []string{},
			Addresses:    []string{},
			Up:           ifc.Flags&net.FlagUp != 0,
			Monitoring:   StateStopped,
		}
		if ifc.Flags != 0 {
			info.Flags = strings.Split(ifc.Flags.String(), "|")
		}
		if addrs, err := ifc.Addrs(); err == nil {
			for _, a := range addrs {
				info.Addresses = append(info.Addresses, a.String())
			}
		}
		s.mu.Lock()
		if w := s.workers[ifc.Name]; w != nil {
			info.Monitoring, info.PID = w.state, w.pid
		}
		s.mu.Unlock()
		out = append(out, info)
	}
	return out, nil
}
