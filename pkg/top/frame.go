package top

import (
	"cmp"
	"slices"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient"
)

// Frame is one refresh of the screen, and with JSON one line of output.
// Rates are null until measured (see the package documentation).
type Frame struct {
	At  time.Time `json:"at"`
	API string    `json:"api"`
	// IntervalSeconds is the time since the previous frame, over which
	// REQ/S is measured; 0 on the first frame.
	IntervalSeconds float64 `json:"interval_seconds"`
	// Error is set, and the rest left empty, when this refresh failed; the
	// next one tries again.
	Error string `json:"error,omitempty"`

	Ingestion  *IngestionRow  `json:"ingestion"`
	Interfaces []InterfaceRow `json:"interfaces"`
	// StatisticsAt is when the collector computed the interface statistics
	// the totals come from.
	StatisticsAt time.Time `json:"statistics_generated_at"`

	// TopTalkers are the clients with the most requests (the API's
	// sort_by=session_count), LatestUnanswered and LatestKoD the clients
	// with unanswered requests or KoD answers, most recently seen first.
	TopTalkers       []apiclient.ClientRow `json:"top_talkers"`
	LatestUnanswered []apiclient.ClientRow `json:"latest_unanswered"`
	LatestKoD        []apiclient.ClientRow `json:"latest_kod"`
}

// IngestionRow is the collector's side of the frame.
type IngestionRow struct {
	SessionsPerSecond *float64 `json:"sessions_per_second"`
	QueueSize         int64    `json:"queue_size"`
	QueueCapacity     int64    `json:"queue_capacity"`
	ConnectedWorkers  int64    `json:"connected_workers"`
	Rows              int64    `json:"rows"`
	DatabaseBytes     int64    `json:"database_bytes"`
}

// InterfaceRow is one interface's line.
type InterfaceRow struct {
	Interface string `json:"interface_name"`
	// Workers counts the connected workers capturing on the interface.
	Workers              int      `json:"workers"`
	RequestsPerSecond    *float64 `json:"requests_per_second"`
	AnsweredRatio        *float64 `json:"answered_ratio"`
	UnansweredPerSecond  *float64 `json:"unanswered_per_second"`
	KoDPerSecond         *float64 `json:"kod_per_second"`
	KernelDropsPerSecond *float64 `json:"kernel_drops_per_second"`

	// Totals over the whole table, from the interface statistics.
	Clients               int64 `json:"clients"`
	ActiveClientsLastHour int64 `json:"active_clients_last_hour"`
	Sessions              int64 `json:"sessions"`
	Answered              int64 `json:"answered"`
	Unanswered            int64 `json:"unanswered"`
	KoD                   int64 `json:"kod"`
}

// sample is what one refresh reads from the API.
type sample struct {
	at         time.Time // when the service statistics were read
	service    *apiclient.ServiceStatistics
	interfaces *apiclient.InterfaceStatistics
	talkers    []apiclient.ClientRow
	unanswered []apiclient.ClientRow
	kod        []apiclient.ClientRow
}

// Totals kept in each kind of window, by index.
const (
	capAnswered = iota
	capUnanswered
	capKernelDrops
)

// sampler keeps the windows that turn the API's running totals into rates,
// from one refresh to the next.
type sampler struct {
	ingest   window
	received map[string]*window // by worker_id: session lines received; our clock
	capture  map[string]*window // by worker_id: capture counters; stamped by their arrival
	kod      map[string]*window // by interface: KoD total; stamped by generated_at
	lastAt   time.Time
}

func newSampler() *sampler {
	return &sampler{received: map[string]*window{}, capture: map[string]*window{}, kod: map[string]*window{}}
}

// windowFor returns m[key], made on first use.
func windowFor(m map[string]*window, key string) *window {
	w := m[key]
	if w == nil {
		w = &window{}
		m[key] = w
	}
	return w
}

// frame folds s into the windows and builds the frame.
func (sm *sampler) frame(api string, s *sample) *Frame {
	f := &Frame{At: s.at, API: api, TopTalkers: orEmpty(s.talkers), LatestUnanswered: orEmpty(s.unanswered), LatestKoD: orEmpty(s.kod)}
	if !sm.lastAt.IsZero() {
		f.IntervalSeconds = s.at.Sub(sm.lastAt).Seconds()
	}
	sm.lastAt = s.at

	rows := map[string]*InterfaceRow{}
	row := func(name string) *InterfaceRow {
		r := rows[name]
		if r == nil {
			r = &InterfaceRow{Interface: name}
			rows[name] = r
		}
		return r
	}

	svc := s.service
	f.Ingestion = &IngestionRow{Rows: svc.Database.Rows, DatabaseBytes: svc.Database.SizeBytes}
	if in := svc.Ingestion; in != nil {
		sm.ingest.observe(s.at, in.TotalReceived)
		r, ok := sm.ingest.rate(0)
		f.Ingestion.SessionsPerSecond = ptrIf(r, ok)
		f.Ingestion.QueueSize, f.Ingestion.QueueCapacity = in.QueueSize, in.QueueCapacity
		f.Ingestion.ConnectedWorkers = in.ConnectedWorkers
	}

	type sums struct{ req, ans, unans, unansRate, drops sum }
	per := map[string]*sums{}
	live := map[string]bool{}
	for _, w := range svc.Workers {
		live[w.WorkerID] = true
		r := row(w.Interface)
		if w.Connected {
			r.Workers++
		}
		p := per[w.Interface]
		if p == nil {
			p = &sums{}
			per[w.Interface] = p
		}
		rw := windowFor(sm.received, w.WorkerID)
		rw.observe(s.at, w.Received)
		p.req.add(rw.rate(0))
		if w.Capture != nil {
			cw := windowFor(sm.capture, w.WorkerID)
			cw.observe(w.Capture.At, w.Capture.Answered, w.Capture.Unanswered, w.Capture.KernelDrops)
			a, okA := cw.delta(capAnswered)
			u, okU := cw.delta(capUnanswered)
			if okA && okU {
				p.ans.add(float64(a), true)
				p.unans.add(float64(u), true)
			}
			p.unansRate.add(cw.rate(capUnanswered))
			p.drops.add(cw.rate(capKernelDrops))
		}
	}
	// Forget workers the collector no longer lists.
	for _, m := range []map[string]*window{sm.received, sm.capture} {
		for id := range m {
			if !live[id] {
				delete(m, id)
			}
		}
	}
	for name, p := range per {
		r := row(name)
		r.RequestsPerSecond = p.req.ptr()
		if p.ans.ok && p.ans.v+p.unans.v > 0 {
			v := p.ans.v / (p.ans.v + p.unans.v)
			r.AnsweredRatio = &v
		}
		r.UnansweredPerSecond = p.unansRate.ptr()
		r.KernelDropsPerSecond = p.drops.ptr()
	}

	if ifs := s.interfaces; ifs != nil {
		f.StatisticsAt = ifs.GeneratedAt
		for _, st := range ifs.Data {
			r := row(st.InterfaceName)
			r.Clients, r.ActiveClientsLastHour = st.Clients, st.ActiveClientsLastHour
			r.Sessions, r.Answered, r.Unanswered, r.KoD = st.Sessions, st.Answered, st.Unanswered, st.KoD
			kw := windowFor(sm.kod, st.InterfaceName)
			kw.observe(ifs.GeneratedAt, st.KoD)
			r.KoDPerSecond = ptrIf(kw.rate(0))
		}
	}

	f.Interfaces = make([]InterfaceRow, 0, len(rows))
	for _, r := range rows {
		f.Interfaces = append(f.Interfaces, *r)
	}
	slices.SortFunc(f.Interfaces, func(a, b InterfaceRow) int { return cmp.Compare(a.Interface, b.Interface) })
	return f
}

func ptrIf(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &v
}

// orEmpty makes a missing list an empty one, so JSON says [] and not null.
func orEmpty(rows []apiclient.ClientRow) []apiclient.ClientRow {
	if rows == nil {
		return []apiclient.ClientRow{}
	}
	return rows
}
