package httpapi

// GET /api/ntp/history/interfaces/statistics: a summary of each capture
// interface's clients, read live from the store's per-interface totals,
// the counts it keeps moving with every commit, and the series, on every
// request.

import (
	"database/sql"
	"net/http"
	"strconv"
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
	// MaxAgeSeconds and ClientMeansAge are 0: every figure, the
	// percentiles of the per-client means among them, is of this request.
	// The fields stay for clients written when those percentiles came
	// from a background computation of their own age.
	MaxAgeSeconds  float64  `json:"max_age_seconds"`
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
	var fresh float64
	resp := interfaceStatsResponse{Data: make([]interfaceStatsJSON, 0, len(st)), GeneratedAt: now.UTC().Format(time.RFC3339Nano),
		ClientMeansAge: &fresh}
	for _, i := range st {
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
