package store

import (
	"iter"
	"math"
	"net/netip"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// Batch folds sessions in memory into one pending row per (client address,
// interface) and remembers the highest seq seen from each worker, so that a
// commit writes each row once however many sessions it carries.
//
// A Batch is not safe for concurrent use; it belongs to the single writer.
// Commit does not change it: after a failed commit the same batch can be
// committed again, and after a successful one the caller calls Reset.
type Batch struct {
	idx  map[rowKey]int32
	rows []row
	n    int
	hw   map[string]workerMark

	// series holds the traffic of the batch per interface and minute of
	// capture time, sidx where each key's bucket is; Commit merges them
	// into the stored minutes and hours. Reset keeps the buckets' memory.
	sidx   map[seriesKey]int32
	series []SeriesBucket
}

// seriesKey is one interface's bucket: its start in Unix seconds.
type seriesKey struct {
	iface string
	start int64
}

// minuteOf is the start of the minute bucket holding t.
func minuteOf(iface string, t time.Time) seriesKey {
	return seriesKey{iface: iface, start: floorDiv(t.Unix(), int64(MinuteStep/time.Second)) * int64(MinuteStep/time.Second)}
}

// floorDiv rounds towards minus infinity, so a time before 1970 lands in
// the bucket that starts before it, like every other.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

type rowKey struct {
	ip    netip.Addr // unmapped: an IPv4-mapped IPv6 address is the IPv4 client
	iface string
}

type workerMark struct {
	iface   string
	seq     uint64
	binding string // "" unless Bind was called
}

// row is the aggregate of one client's sessions within a batch.
type row struct {
	key         rowKey
	first, last time.Time // over every packet, requests and other modes

	// latest is the session with the newest Timestamp: it supplies the
	// "last packet" columns. Ties go to the session added later.
	latest session.Session

	sessions, answered, unanswered int64
	unansweredTime                 time.Time // the newest unanswered request's capture time
	kod                            int64
	kodCode                        string
	kodTime                        time.Time
	modes                          [8]int64 // other-mode packets by mode; 1, 2, 5, 6, 7 are stored

	latCount, procCount        int64 // procCount also counts the total metric
	latMin, latMax, latSum     float64
	procMin, procMax, procSum  float64
	totalMin, totalMax, totSum float64
}

// NewBatch returns an empty batch.
func NewBatch() *Batch {
	return &Batch{
		idx:  make(map[rowKey]int32),
		hw:   make(map[string]workerMark),
		sidx: make(map[seriesKey]int32),
	}
}

// Add folds one session from workerID into the batch. iface is the
// interface the worker announced; it names the row when the session carries
// no interface of its own. seq raises the worker's high-water mark.
//
// Requests (session.IsRequest) count as answered or unanswered sessions and
// fold their metrics; a stratum-0 answer with a kiss code counts as a KoD;
// other-mode packets count per mode. Every packet moves first/last seen
// and counts in the traffic series of its interface and capture minute.
func (b *Batch) Add(workerID, iface string, seq uint64, s *session.Session) {
	b.Skip(workerID, iface, seq)
	b.n++

	k := rowKey{ip: s.ClientIP.Unmap(), iface: s.Interface}
	if k.iface == "" {
		k.iface = iface
	}
	i, ok := b.idx[k]
	if !ok {
		i, b.rows = slot(b.idx, k, b.rows)
		b.rows[i] = row{}
	}
	r := &b.rows[i]
	ts := s.Timestamp
	b.bucket(minuteOf(k.iface, ts)).fold(s, k.ip)
	if !ok {
		r.key = k
		r.first, r.last = ts, ts
		r.latest = *s
	} else {
		if ts.Before(r.first) {
			r.first = ts
		}
		if ts.After(r.last) {
			r.last = ts
		}
		if !ts.Before(r.latest.Timestamp) {
			r.latest = *s
		}
	}

	if !s.IsRequest() {
		if s.Mode < uint8(len(r.modes)) {
			r.modes[s.Mode]++
		}
		return
	}
	r.sessions++
	if !s.Answered {
		if r.unanswered == 0 || ts.After(r.unansweredTime) {
			r.unansweredTime = ts
		}
		r.unanswered++
		return
	}
	r.answered++
	if s.KoD != "" {
		r.kod++
		if r.kod == 1 || !ts.Before(r.kodTime) {
			r.kodCode, r.kodTime = s.KoD, ts
		}
	}
	// The wire decoder refuses non-finite numbers; should one get here all
	// the same, it is left out rather than turning a sum into NaN, which
	// SQLite stores as NULL and a NOT NULL sum column would refuse for ever.
	if s.LatencyValid && finite(s.Latency) {
		foldMetric(r.latCount, s.Latency, &r.latMin, &r.latMax, &r.latSum)
		r.latCount++
	}
	if finite(s.Processing) && finite(s.Total) {
		foldMetric(r.procCount, s.Processing, &r.procMin, &r.procMax, &r.procSum)
		foldMetric(r.procCount, s.Total, &r.totalMin, &r.totalMax, &r.totSum)
		r.procCount++
	}
}

// bucket is the batch's bucket of k, a reset one from an earlier batch
// when there is one.
func (b *Batch) bucket(k seriesKey) *SeriesBucket {
	i, ok := b.sidx[k]
	if !ok {
		i, b.series = slot(b.sidx, k, b.series)
	}
	return &b.series[i]
}

// Series yields the batch's traffic: each interface's bucket of each
// minute of capture time it holds sessions of, as Add counted them (the
// stored buckets are not read). After a successful Commit it is exactly
// what the commit added to the traffic series, for exporters that count
// committed sessions; the buckets are the batch's own and are valid until
// Reset.
func (b *Batch) Series() iter.Seq2[string, *SeriesBucket] {
	return func(yield func(string, *SeriesBucket) bool) {
		for k, i := range b.sidx {
			if !yield(k.iface, &b.series[i]) {
				return
			}
		}
	}
}

// slot gives k the next element of s, reusing the memory of an element a
// Reset cut off when there is one, and records its index in idx.
func slot[K comparable, T any](idx map[K]int32, k K, s []T) (int32, []T) {
	i := int32(len(s))
	idx[k] = i
	if len(s) < cap(s) {
		return i, s[:len(s)+1]
	}
	var zero T
	return i, append(s, zero)
}

// Skip raises workerID's high-water mark to seq without a session: the
// collector refused the session with that seq, which counts as delivered all
// the same, so that the worker is not made to resend it for ever.
func (b *Batch) Skip(workerID, iface string, seq uint64) {
	if m, ok := b.hw[workerID]; !ok || seq > m.seq {
		m.iface, m.seq = iface, seq
		b.hw[workerID] = m
	}
}

// Bind records the identity workerID is bound to; the commit stores it with
// the worker's high-water seq unless the worker is bound already (a binding
// never changes). A batch with nothing else for the worker still writes it.
func (b *Batch) Bind(workerID, iface, binding string) {
	m, ok := b.hw[workerID]
	if !ok {
		m.iface = iface
	}
	m.binding = binding
	b.hw[workerID] = m
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func foldMetric(n int64, v float64, lo, hi, sum *float64) {
	if n == 0 || v < *lo {
		*lo = v
	}
	if n == 0 || v > *hi {
		*hi = v
	}
	*sum += v
}

// Len is the number of sessions added since the last Reset.
func (b *Batch) Len() int { return b.n }

// Rows is the number of distinct (client, interface) rows the batch writes.
func (b *Batch) Rows() int { return len(b.rows) }

// Reset empties the batch, keeping its memory for the next one.
func (b *Batch) Reset() {
	clear(b.idx)
	clear(b.hw)
	clear(b.rows) // drop references to strings held by old sessions
	clear(b.sidx)
	for i := range b.series {
		b.series[i].reset()
	}
	b.series = b.series[:0]
	b.rows = b.rows[:0]
	b.n = 0
}

// HighWater yields each worker in the batch with the highest seq added for
// it: what the collector acknowledges once the batch is committed.
func (b *Batch) HighWater() iter.Seq2[string, uint64] {
	return func(yield func(string, uint64) bool) {
		for id, m := range b.hw {
			if !yield(id, m.seq) {
				return
			}
		}
	}
}

// Workers is the number of distinct workers in the batch.
func (b *Batch) Workers() int { return len(b.hw) }
