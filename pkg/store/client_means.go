package store

// The percentiles of the per-client means, kept by the bucket.
//
// Beside the session percentiles of the series, the interface statistics
// give the p50 and p95 of the per-client means (MetricStats): half of an
// interface's clients have a mean processing time at or below its p50.
// Exact, they need every client's mean, sorted: a read of the whole table,
// 1.5 s at 1,000,000 clients, that any commit adding a client makes stale,
// so that a pool server's collector kept half a core busy recomputing
// them. Instead each interface keeps how many of its clients' means fall
// in each bucket of loghist's scheme, per metric (meanCounts): built once
// from the rows, then moved by every commit as kept.go describes, a client
// whose mean moves into another bucket leaving its old one. A percentile
// read from the buckets is within loghist.RelativeError (1.09 %) of the
// exact percentile of the means, and of the commits the reader sees.

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/loghist"
)

// The metrics whose per-client means are kept.
const (
	meanLatency = iota
	meanProcessing
	meanTotal
	meanMetrics
)

// meanKeySpan holds every loghist key (±1,358) of one metric.
const meanKeySpan = 1 << 12

// meanKey is the kept key of a mean v of metric m: the metric and
// loghist's key of v in one integer.
func meanKey(m int, v float64) int64 {
	return int64(m)*meanKeySpan + int64(loghist.Key(v)) + meanKeySpan/2
}

// splitMeanKey is the metric and loghist key of a kept key.
func splitMeanKey(k int64) (m int, key int) {
	return int(k / meanKeySpan), int(k%meanKeySpan) - meanKeySpan/2
}

// meanKeys returns the kept keys of a client's means from its stored sums
// and counts; n is how many it has. Only clients with an answered session
// have means, as before the means were kept; latency needs a valid one.
func meanKeys(latSum float64, latCount int64, procSum, totSum float64, answered int64) (keys [meanMetrics]int64, n int) {
	if answered <= 0 {
		return keys, 0
	}
	keys[0] = meanKey(meanProcessing, procSum/float64(answered))
	keys[1] = meanKey(meanTotal, totSum/float64(answered))
	n = 2
	if latCount > 0 {
		keys[2] = meanKey(meanLatency, latSum/float64(latCount))
		n = 3
	}
	return keys, n
}

// means records one upserted row: stored is the row as it was before the
// commit (nil when the commit inserted it). The row's new sums are the
// stored ones plus the batch's, added as the upsert adds them.
func (v *ifaceMoves) means(stored *storedProps, r *row) {
	var was storedProps
	if stored != nil {
		was = *stored
	}
	old, no := meanKeys(was.latSum, was.lat, was.procSum, was.totSum, was.ans)
	nw, nn := meanKeys(was.latSum+r.latSum, was.lat+r.latCount, was.procSum+r.procSum, was.totSum+r.totSum, was.ans+r.answered)
	for _, k := range old[:no] {
		v.delta[k]--
	}
	for _, k := range nw[:nn] {
		v.delta[k]++
	}
}

// clientMeans holds each interface's kept mean buckets (Store.means).
type clientMeans struct {
	kept[*meanCounts]

	buildMu sync.Mutex
	// building is closed when the build of every interface's buckets
	// under way ends: one whole-table read serves the readers that find
	// none kept at once, as after a start.
	building chan struct{}
}

// buildOnce runs build unless one is under way, and then waits for that
// one instead; ran reports which.
func (c *clientMeans) buildOnce(ctx context.Context, build func() error) (ran bool, err error) {
	c.buildMu.Lock()
	if ch := c.building; ch != nil {
		c.buildMu.Unlock()
		select {
		case <-ch:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	ch := make(chan struct{})
	c.building = ch
	c.buildMu.Unlock()
	defer func() {
		c.buildMu.Lock()
		c.building = nil
		c.buildMu.Unlock()
		close(ch)
	}()
	return true, build()
}

// meanCounts counts an interface's clients by the buckets of their means.
type meanCounts struct {
	changes int64           // the interface_totals.changes they are of
	n       map[int64]int64 // meanKey → clients
}

func (k *meanCounts) version() int64 { return k.changes }

func (k *meanCounts) move(delta map[int64]int64, ch int64, _ time.Time) {
	for key, d := range delta {
		if k.n[key] += d; k.n[key] == 0 {
			delete(k.n, key)
		}
	}
	k.changes = ch
}

// buildMeans counts every interface's clients by the buckets of their
// means in one pass over the table, in the reader's transaction: each
// interface's of the version the transaction sees. A pass is
// about 1.5 s at 1,000,000 clients; through the interface's index, a row
// at a time, one interface of 125,000 took 0.8 s.
func buildMeans(ctx context.Context, tx *sql.Tx) (map[string]*meanCounts, error) {
	built := make(map[string]*meanCounts)
	vers, err := tx.QueryContext(ctx, "SELECT interface_name, changes FROM interface_totals")
	if err != nil {
		return nil, err
	}
	for vers.Next() {
		k := &meanCounts{n: make(map[int64]int64)}
		var iface string
		if err := vers.Scan(&iface, &k.changes); err != nil {
			vers.Close()
			return nil, err
		}
		built[iface] = k
	}
	if err := vers.Close(); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT interface_name, latency_sum, latency_count, processing_sum, total_sum, answered_count
		FROM ntp_clients NOT INDEXED WHERE answered_count > 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var iface sql.RawBytes
	var ls, ps, ts float64
	var lc, ac int64
	for rows.Next() {
		if err := rows.Scan(&iface, &ls, &lc, &ps, &ts, &ac); err != nil {
			return nil, err
		}
		k := built[string(iface)]
		if k == nil {
			// No totals row: the totals are off (a benchmark's store),
			// and no reader asks for this interface's version.
			continue
		}
		keys, n := meanKeys(ls, lc, ps, ts, ac)
		for _, key := range keys[:n] {
			k.n[key]++
		}
	}
	return built, rows.Err()
}

// ClientMeans are the nearest-rank p50 and p95 of one interface's
// per-client means (see MetricStats), each within loghist.RelativeError.
type ClientMeans struct {
	Latency, Processing, Total MeanPercentiles
}

// MeanPercentiles are the p50 and p95 of one metric's per-client means,
// invalid when no client has one.
type MeanPercentiles struct{ P50, P95 sql.NullFloat64 }

// meanPercentiles reads the percentiles from counts by kept key.
func meanPercentiles(n map[int64]int64) ClientMeans {
	var by [meanMetrics][]loghist.KeyCount
	for k, c := range n {
		if c != 0 {
			m, key := splitMeanKey(k)
			by[m] = append(by[m], loghist.KeyCount{Key: key, N: c})
		}
	}
	var cm ClientMeans
	for m, dst := range [meanMetrics]*MeanPercentiles{meanLatency: &cm.Latency, meanProcessing: &cm.Processing, meanTotal: &cm.Total} {
		if v, ok := loghist.KeyQuantiles(by[m], 0.50, 0.95); ok {
			dst.P50 = sql.NullFloat64{Float64: v[0], Valid: true}
			dst.P95 = sql.NullFloat64{Float64: v[1], Valid: true}
		}
	}
	return cm
}

// meansKey names the client-mean percentiles of one interface: as of its
// interface_totals.changes.
type meansKey struct {
	iface   string
	changes int64
}

// meansKept bounds the percentiles kept: a few versions each of up to 64
// interfaces.
const meansKept = 256

// meansOf reads key's client-mean percentiles from the kept buckets, built
// first when none of the key's version are kept.
func (s *Store) meansOf(ctx context.Context, tx *sql.Tx, key meansKey) (ClientMeans, error) {
	var cm ClientMeans
	read := func() (bool, <-chan struct{}) {
		return s.means.read(key.iface, key.changes, func(k *meanCounts, ahead []map[int64]int64) bool {
			n := k.n
			if len(ahead) > 0 {
				n = make(map[int64]int64, len(k.n))
				for key, c := range k.n {
					n[key] = c
				}
				for _, d := range ahead {
					for key, c := range d {
						n[key] -= c
					}
				}
			}
			cm = meanPercentiles(n)
			return true
		})
	}
	for {
		ok, pending := read()
		if pending != nil {
			select {
			case <-pending:
			case <-ctx.Done():
				return cm, ctx.Err()
			}
			ok, _ = read()
		}
		if ok {
			return cm, nil
		}
		// None kept of this version: build every interface's, or wait for
		// the build under way and read again (it may not serve this
		// version: a commit by another process in between).
		ran, err := s.means.buildOnce(ctx, func() error {
			built, err := buildMeans(ctx, tx)
			if err != nil {
				return err
			}
			if k := built[key.iface]; k != nil {
				// Read first: keeping them may move them past this
				// transaction's version.
				cm = meanPercentiles(k.n)
			}
			now := s.clock.now()
			for iface, k := range built {
				s.means.keep(iface, k, now)
			}
			return nil
		})
		if err != nil || ran {
			return cm, err
		}
	}
}
