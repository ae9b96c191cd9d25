package httpapi

// The worker series of /metrics, folded by interface. Each worker run has
// a random worker_id, so a series per run grew /metrics by a set of series
// at every restart (and anyone holding the ingestion token could mint
// thousands). Instead the counters of every run on an interface add up
// into one series per interface: each scrape adds what each run counted
// since the previous scrape, so the totals only grow, and a run that
// disconnects or is forgotten by ingestion takes nothing away from them.
// At most MaxInterfaceSeries interfaces get a series of their own, for
// good, handed out in the order their workers connected (the workers
// that run all along before any newcomer); the others are folded into
// interface="_other". A run that ingestion forgets before any scrape has
// seen it is not counted: ingestion keeps gone workers listed for a while
// (its WorkerRetention) for that.

import (
	"cmp"
	"slices"
	"sync"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// MaxInterfaceSeries is how many interface label values /metrics uses at
// most; the rest share OtherInterface.
const MaxInterfaceSeries = 64

// OtherInterface is the label of the interfaces past MaxInterfaceSeries.
const OtherInterface = "_other"

// captureCounters are the running totals of a worker's stats line that
// /metrics exports as counters.
type captureCounters struct {
	packets, kernelDrops, interfaceDrops, decodeErrors uint64
	answered, unanswered, otherModes, lost             uint64
	evicted, shed                                      uint64
}

func countersOf(s *wire.Stats) captureCounters {
	return captureCounters{s.Packets, s.KernelDrops, s.InterfaceDrops, s.DecodeErrors,
		s.Answered, s.Unanswered, s.OtherModes, s.Lost, s.Evicted, s.Shed}
}

// fields lists the counters for arithmetic over all of them.
func (c *captureCounters) fields() []*uint64 {
	return []*uint64{&c.packets, &c.kernelDrops, &c.interfaceDrops, &c.decodeErrors,
		&c.answered, &c.unanswered, &c.otherModes, &c.lost, &c.evicted, &c.shed}
}

// add adds to c what cur counted since prev. A counter below its previous
// value belongs to a new run, counted from zero.
func (c *captureCounters) add(cur, prev captureCounters) {
	cf, pf, tf := cur.fields(), prev.fields(), c.fields()
	for i := range tf {
		d := *cf[i]
		if *cf[i] >= *pf[i] {
			d -= *pf[i]
		}
		*tf[i] += d
	}
}

// interfaceSeries is what one scrape exports for one interface label.
type interfaceSeries struct {
	label        string
	total        captureCounters
	lag, pending uint64
}

// workerSeries keeps, across scrapes, the interface labels handed out, the
// totals per label and each run's counters at the previous scrape.
type workerSeries struct {
	mu     sync.Mutex
	max    int
	labels map[string]bool             // interfaces with a series of their own
	total  map[string]*captureCounters // by label
	last   map[string]captureCounters  // by worker id
}

func newWorkerSeries(max int) *workerSeries {
	return &workerSeries{max: max, labels: map[string]bool{},
		total: map[string]*captureCounters{}, last: map[string]captureCounters{}}
}

// labelLocked is the label of iface, handing out a free one if any is left.
func (w *workerSeries) labelLocked(iface string) string {
	if w.labels[iface] {
		return iface
	}
	if len(w.labels) < w.max && iface != OtherInterface {
		w.labels[iface] = true
		return iface
	}
	return OtherInterface
}

// label is the label of iface, as labelLocked hands it out.
func (w *workerSeries) label(iface string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.labelLocked(iface)
}

// fold turns the workers of one snapshot into one series per label, in
// label order. Lag counts every run still listed (sessions received and
// not committed yet); pending only connected ones (a gone worker's
// pending requests are gone with it).
func (w *workerSeries) fold(workers []ingest.WorkerSnapshot) []interfaceSeries {
	w.mu.Lock()
	defer w.mu.Unlock()
	byAge := slices.Clone(workers)
	slices.SortStableFunc(byAge, func(a, b ingest.WorkerSnapshot) int { return a.ConnectedAt.Compare(b.ConnectedAt) })
	now := map[string]*interfaceSeries{}
	seen := make(map[string]bool, len(byAge))
	for i := range byAge {
		ws := &byAge[i]
		label := w.labelLocked(ws.Interface)
		if w.total[label] == nil {
			w.total[label] = &captureCounters{}
		}
		s := now[label]
		if s == nil {
			s = &interfaceSeries{label: label}
			now[label] = s
		}
		s.lag += ws.Lag
		if ws.StatsAt.IsZero() {
			continue
		}
		if ws.Connected {
			s.pending += ws.Stats.Pending
		}
		cur := countersOf(&ws.Stats)
		w.total[label].add(cur, w.last[ws.WorkerID])
		w.last[ws.WorkerID] = cur
		seen[ws.WorkerID] = true
	}
	for id := range w.last {
		if !seen[id] {
			delete(w.last, id)
		}
	}
	out := make([]interfaceSeries, 0, len(w.total))
	for label, t := range w.total {
		s := interfaceSeries{label: label, total: *t}
		if n := now[label]; n != nil {
			s.lag, s.pending = n.lag, n.pending
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b interfaceSeries) int { return cmp.Compare(a.label, b.label) })
	return out
}

// foldClients sums client counts by the same labels, so that the store's
// interfaces are bounded the same way. Interfaces are taken in name order
// for labels not handed out yet.
func (w *workerSeries) foldClients(counts map[string]int64) map[string]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make(map[string]int64, min(len(names), w.max+1))
	for _, n := range names {
		out[w.labelLocked(n)] += counts[n]
	}
	return out
}
