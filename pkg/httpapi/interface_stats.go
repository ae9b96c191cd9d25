package httpapi

// GET /api/ntp/history/interfaces/statistics: a summary of each capture
// interface's clients, served from a cache because it reads the whole table.

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
}

func intKeys(m map[int]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[strconv.Itoa(k)] = v
	}
	return out
}

func (s *Server) computeInterfaceStats(ctx context.Context) (*interfaceStatsResponse, error) {
	start := time.Now()
	now := s.now()
	st, err := s.cfg.Store.InterfaceStatistics(ctx, now)
	if err != nil {
		return nil, err
	}
	resp := &interfaceStatsResponse{Data: make([]interfaceStatsJSON, 0, len(st)), GeneratedAt: now.UTC().Format(time.RFC3339Nano)}
	for _, i := range st {
		resp.Data = append(resp.Data, interfaceStatsJSON{
			InterfaceName: i.Interface, Clients: i.Clients, ActiveLastHour: i.ActiveLastHour, ActiveLastDay: i.ActiveLastDay,
			Sessions: i.Sessions, Answered: i.Answered, Unanswered: i.Unanswered, KoD: i.KoD, ClientsWithKoD: i.ClientsWithKoD,
			OtherModes: intKeys(i.OtherModes), Versions: intKeys(i.Versions),
			Latency: metricOut(i.Latency), Processing: metricOut(i.Processing), Total: metricOut(i.Total),
			FirstSeen: i.FirstSeen, LastSeen: i.LastSeen, ClientsNoVerson: i.ClientsNoVersion,
		})
	}
	resp.ComputeMillis = float64(time.Since(start).Microseconds()) / 1000
	return resp, nil
}

// GET /api/ntp/history/interfaces/statistics
func (s *Server) interfaceStatistics(c *gin.Context) {
	q, err := newQuery(c, "from", "to")
	if err != nil {
		badRequest(c, err)
		return
	}
	tot, rng, err := s.seriesRange(c.Request.Context(), q)
	if err != nil {
		s.rangeFailed(c, err)
		return
	}
	resp, err := s.stats.get(c.Request.Context())
	if err != nil {
		s.internalError(c, "interface statistics", err)
		return
	}
	out := *resp
	// The cached rows are shared: the range goes on copies.
	out.Data = make([]interfaceStatsJSON, len(resp.Data))
	for i, d := range resp.Data {
		d.Range = rangeOf(rng, tot[d.InterfaceName])
		out.Data[i] = d
	}
	out.MaxAgeSeconds = max(s.cfg.StatsMaxAge, 0).Seconds()
	s.writeJSON(c, http.StatusOK, out)
}

// statsCache serves interface statistics, which read the whole table, from
// the latest computation: a fresh one is computed when the cached one is
// older than maxAge, in the background while the older one is still served
// (stale-while-revalidate). Only the first request waits. Concurrent requests
// never start more than one computation.
type statsCache struct {
	ctx     context.Context
	maxAge  time.Duration
	compute func(context.Context) (*interfaceStatsResponse, error)
	log     *slog.Logger

	mu       sync.Mutex
	val      *interfaceStatsResponse
	at       time.Time
	inflight chan struct{} // closed when the running computation ends
	err      error         // of the last computation
	gen      uint64        // bumped by invalidate; a computation begun before is not kept
}

func newStatsCache(ctx context.Context, maxAge time.Duration, compute func(context.Context) (*interfaceStatsResponse, error), log *slog.Logger) *statsCache {
	return &statsCache{ctx: ctx, maxAge: maxAge, compute: compute, log: log}
}

func (c *statsCache) get(ctx context.Context) (*interfaceStatsResponse, error) {
	if c.maxAge < 0 {
		return c.compute(ctx)
	}
	c.mu.Lock()
	if c.val != nil {
		v := c.val
		if time.Since(c.at) > c.maxAge && c.inflight == nil {
			c.startLocked()
		}
		c.mu.Unlock()
		return v, nil
	}
	if c.inflight == nil {
		c.startLocked()
	}
	done := c.inflight
	c.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.val == nil {
		return nil, c.err
	}
	return c.val, nil
}

// startLocked starts one computation in the background, detached from the
// request that triggered it so a client going away does not waste it.
func (c *statsCache) startLocked() {
	done := make(chan struct{})
	c.inflight = done
	gen := c.gen
	go func() {
		defer close(done)
		v, err := c.compute(c.ctx)
		c.mu.Lock()
		defer c.mu.Unlock()
		c.inflight = nil
		c.err = err
		if gen != c.gen {
			return
		}
		if err != nil {
			if c.ctx.Err() == nil {
				c.log.Error("interface statistics", "err", err)
			}
			return
		}
		c.val, c.at = v, time.Now()
	}()
}

// invalidate makes the next request compute afresh (after a cleanup).
func (c *statsCache) invalidate() {
	c.mu.Lock()
	c.val = nil
	c.gen++
	c.mu.Unlock()
}
