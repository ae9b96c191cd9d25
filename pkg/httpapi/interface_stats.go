package httpapi

// GET /api/ntp/history/interfaces/statistics: a summary of each capture
// interface's clients, read live from the store's per-interface totals and
// the series on every request; only the percentiles of the per-client
// means, which need every client row, come from a background computation
// whose age the response states (clientMeansCache).

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

// metricJSON is MetricStats on the wire.
type metricJSON struct {
	Sessions int64    `json:"sessions"`
	Clients  int64    `json:"clients"`
	Mean     *float64 `json:"mean"`
	Min      *float64 `json:"min"`
	Max      *float64 `json:"max"`
	P50      *float64 `json:"p50_of_client_means"`
	P95      *float64 `json:"p95_of_client_means"`
}

// nf is a statistic on the wire: null when there is none, or when it is
// not finite (sums of absurd values overflow to +Inf).
func nf(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	return finite(v.Float64)
}

func metricOut(m store.MetricStats) metricJSON {
	return metricJSON{Sessions: m.Sessions, Clients: m.Clients, Mean: nf(m.Mean), Min: nf(m.Min), Max: nf(m.Max), P50: nf(m.P50), P95: nf(m.P95)}
}

type interfaceStatsJSON struct {
	InterfaceName   string           `json:"interface_name"`
	Clients         int64            `json:"clients"`
	ActiveLastHour  int64            `json:"active_clients_last_hour"`
	ActiveLastDay   int64            `json:"active_clients_last_day"`
	Sessions        int64            `json:"sessions"`
	Answered        int64            `json:"answered"`
	Unanswered      int64            `json:"unanswered"`
	KoD             int64            `json:"kod"`
	ClientsWithKoD  int64            `json:"clients_with_kod"`
	OtherModes      map[string]int64 `json:"other_mode_packets"`
	Versions        map[string]int64 `json:"ntp_versions"`
	Latency         metricJSON       `json:"client_to_server_latency_seconds"`
	Processing      metricJSON       `json:"server_processing_time_seconds"`
	Total           metricJSON       `json:"total_process_time_seconds"`
	FirstSeen       string           `json:"first_seen_timestamp"`
	LastSeen        string           `json:"last_seen_timestamp"`
	ClientsNoVerson int64            `json:"clients_without_version"`
	// Range is the interface's traffic over the request's from and to,
	// from the series: session percentiles, distinct and new clients.
	Range *rangeJSON `json:"range"`
}

type interfaceStatsResponse struct {
	Data          []interfaceStatsJSON `json:"data"`
	GeneratedAt   string               `json:"generated_at"`
	ComputeMillis float64              `json:"compute_ms"`
	MaxAgeSeconds float64              `json:"max_age_seconds"`
	// ClientMeansAge is how old the p50/p95 of the per-client means are
	// (null: not computed yet); every other figure is of this request.
	ClientMeansAge *float64 `json:"client_means_age_seconds"`
}

func intKeys(m map[int]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[strconv.Itoa(k)] = v
	}
	return out
}

// GET /api/ntp/history/interfaces/statistics
func (s *Server) interfaceStatistics(c *gin.Context) {
	q, err := newQuery(c, "from", "to")
	if err != nil {
		badRequest(c, err)
		return
	}
	ctx := c.Request.Context()
	start := time.Now()
	tot, rng, err := s.seriesRange(ctx, q)
	if err != nil {
		s.rangeFailed(c, err)
		return
	}
	now := s.now()
	st, err := s.cfg.Store.InterfaceStatistics(ctx, now)
	if err != nil {
		s.internalError(c, "interface statistics", err)
		return
	}
	means, meansAt, err := s.stats.get(ctx)
	if err != nil {
		s.internalError(c, "interface statistics", err)
		return
	}
	resp := interfaceStatsResponse{Data: make([]interfaceStatsJSON, 0, len(st)), GeneratedAt: now.UTC().Format(time.RFC3339Nano),
		MaxAgeSeconds: max(s.cfg.StatsMaxAge, 0).Seconds()}
	if !meansAt.IsZero() {
		age := max(time.Since(meansAt), 0).Seconds()
		resp.ClientMeansAge = &age
	}
	for _, i := range st {
		if m, ok := means[i.Interface]; ok {
			i.Latency.P50, i.Latency.P95 = m.Latency.P50, m.Latency.P95
			i.Processing.P50, i.Processing.P95 = m.Processing.P50, m.Processing.P95
			i.Total.P50, i.Total.P95 = m.Total.P50, m.Total.P95
		}
		resp.Data = append(resp.Data, interfaceStatsJSON{
			InterfaceName: i.Interface, Clients: i.Clients, ActiveLastHour: i.ActiveLastHour, ActiveLastDay: i.ActiveLastDay,
			Sessions: i.Sessions, Answered: i.Answered, Unanswered: i.Unanswered, KoD: i.KoD, ClientsWithKoD: i.ClientsWithKoD,
			OtherModes: intKeys(i.OtherModes), Versions: intKeys(i.Versions),
			Latency: metricOut(i.Latency), Processing: metricOut(i.Processing), Total: metricOut(i.Total),
			FirstSeen: i.FirstSeen, LastSeen: i.LastSeen, ClientsNoVerson: i.ClientsNoVersion,
			Range: rangeOf(rng, tot[i.Interface]),
		})
	}
	resp.ComputeMillis = float64(time.Since(start).Microseconds()) / 1000
	s.writeJSON(c, http.StatusOK, resp)
}

// clientMeansWait is how long a request waits for a computation of the
// client means that is under way before it answers with the older one: a
// small table's finishes well within it, so there a client just stored is
// in every figure of the next answer. A request waits only when there are
// no figures yet or the last computation took no longer than this: a large
// table's takes seconds, and every request in those seconds would
// otherwise pay the whole wait for nothing. For the same reason, once a
// request has waited the whole wait for a computation, none waits for it
// again: the first one after the collector starts on a large table.
const clientMeansWait = 250 * time.Millisecond

// clientMeansCache holds the percentiles of the per-client means, the one
// part of the interface statistics that reads every client row. Its
// figures belong to a set of clients (store.ClientSet: the interfaces and
// their client counts); a request that finds the set changed — a commit
// added clients or an interface, a cleanup removed some — or the figures
// older than maxAge starts a new computation in the background and may wait
// for it (clientMeansWait). The refresh is bounded: one at a time, and
// the next not sooner after the last ended than the last took, so that a
// table that grows all the time costs at most half of one core. maxAge < 0
// computes on every request.
type clientMeansCache struct {
	ctx    context.Context
	maxAge time.Duration
	st     *store.Store
	log    *slog.Logger
	// means computes the figures (Store.ClientMeanPercentiles), and wait
	// is clientMeansWait; the cache's tests hold the one and widen the
	// other.
	means func(context.Context) (map[string]store.ClientMeans, error)
	wait  time.Duration

	mu       sync.Mutex
	val      map[string]store.ClientMeans
	set      string    // the client set val is of
	at       time.Time // when the computation of val began
	ended    time.Time // when the last computation ended
	took     time.Duration
	inflight chan struct{} // closed when the running computation ends
	// outwaited is the running computation once a request has waited the
	// whole wait for it: the first on a large table, which no request
	// waits for again.
	outwaited chan struct{}
	gen       uint64 // bumped by invalidate; a computation begun before is not kept
}

func newClientMeansCache(ctx context.Context, maxAge time.Duration, st *store.Store, log *slog.Logger) *clientMeansCache {
	return &clientMeansCache{ctx: ctx, maxAge: maxAge, st: st, log: log, means: st.ClientMeanPercentiles, wait: clientMeansWait}
}

// get returns the latest percentiles and when their computation began
// (zero: none yet).
func (c *clientMeansCache) get(ctx context.Context) (map[string]store.ClientMeans, time.Time, error) {
	set, err := c.st.ClientSet(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	if c.maxAge < 0 {
		at := time.Now()
		v, err := c.means(ctx)
		return v, at, err
	}
	c.mu.Lock()
	fresh := c.val != nil && c.set == set && time.Since(c.at) <= c.maxAge
	if !fresh && c.inflight == nil && (c.val == nil || time.Since(c.ended) >= c.took) {
		c.startLocked(set)
	}
	done := c.inflight
	wait := (c.val == nil || c.took <= c.wait) && c.outwaited != done
	c.mu.Unlock()
	if !fresh && done != nil && wait {
		t := time.NewTimer(c.wait)
		select {
		case <-done:
		case <-t.C:
			c.mu.Lock()
			c.outwaited = done
			c.mu.Unlock()
		case <-ctx.Done():
		}
		t.Stop()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.val, c.at, nil
}

// startLocked starts one computation in the background, detached from the
// request that triggered it so a client going away does not waste it.
func (c *clientMeansCache) startLocked(set string) {
	done := make(chan struct{})
	c.inflight = done
	gen := c.gen
	go func() {
		defer close(done)
		at := time.Now()
		v, err := c.means(c.ctx)
		c.mu.Lock()
		defer c.mu.Unlock()
		c.inflight = nil
		c.ended, c.took = time.Now(), time.Since(at)
		if gen != c.gen {
			return
		}
		if err != nil {
			if c.ctx.Err() == nil {
				c.log.Error("interface statistics: client means", "err", err)
			}
			return
		}
		c.val, c.set, c.at = v, set, at
	}()
}

// invalidate makes the next request compute afresh (after a cleanup).
func (c *clientMeansCache) invalidate() {
	c.mu.Lock()
	c.set = ""
	c.gen++
	c.mu.Unlock()
}
