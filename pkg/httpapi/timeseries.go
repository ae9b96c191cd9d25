package httpapi

// GET /api/ntp/history/timeseries: the traffic series of each interface,
// one point per step, read from the store's minute or hour buckets.

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ntp-monitor/ntp-monitor/pkg/loghist"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

// defaultSeriesRange is the range of a timeseries request without from.
const defaultSeriesRange = time.Hour

// quantilesJSON are a timing's percentiles over a point; null where the
// point has no value of it.
type quantilesJSON struct {
	P50 *float64 `json:"p50"`
	P90 *float64 `json:"p90"`
	P99 *float64 `json:"p99"`
	Max *float64 `json:"max"`
}

func quantilesOut(h *loghist.Histogram) quantilesJSON {
	q := func(p float64) *float64 {
		if v, ok := h.Quantile(p); ok {
			return finite(v)
		}
		return nil
	}
	return quantilesJSON{P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: q(1)}
}

type seriesPointJSON struct {
	T string `json:"t"`
	seriesCountsJSON
}

// seriesCountsJSON is a store.SeriesBucket on the wire: a point of a
// series, or the totals of a range in the statistics.
type seriesCountsJSON struct {
	Requests        int64            `json:"requests"`
	Answered        int64            `json:"answered"`
	Unanswered      int64            `json:"unanswered"`
	KoD             int64            `json:"kod"`
	KoDCodes        map[string]int64 `json:"kod_codes"`
	Versions        map[string]int64 `json:"versions"`
	Modes           map[string]int64 `json:"modes"`
	DistinctClients uint64           `json:"distinct_clients"`
	NewClients      int64            `json:"new_clients"`
	SnaplenCut      int64            `json:"snaplen_cut"`
	Processing      quantilesJSON    `json:"processing_seconds"`
	Wire            quantilesJSON    `json:"wire_seconds"`
	Latency         quantilesJSON    `json:"latency_seconds"`
}

// nonZero keys the non-zero counts of c by their index.
func nonZero(c []int64) map[string]int64 {
	out := make(map[string]int64)
	for i, n := range c {
		if n != 0 {
			out[strconv.Itoa(i)] = n
		}
	}
	return out
}

func pointOut(p *store.SeriesPoint) seriesPointJSON {
	return seriesPointJSON{T: p.Start.UTC().Format(time.RFC3339), seriesCountsJSON: countsOut(&p.SeriesBucket)}
}

func countsOut(p *store.SeriesBucket) seriesCountsJSON {
	codes := make(map[string]int64, len(p.KoDCodes))
	for k, n := range p.KoDCodes {
		if n != 0 {
			codes[k] = n
		}
	}
	return seriesCountsJSON{
		Requests: p.Requests, Answered: p.Answered, Unanswered: p.Unanswered,
		KoD: p.KoD, KoDCodes: codes, Versions: nonZero(p.Versions[:]), Modes: nonZero(p.Modes[:]),
		DistinctClients: p.Clients.Count(), NewClients: p.NewClients, SnaplenCut: p.SnaplenCut,
		Processing: quantilesOut(&p.Processing), Wire: quantilesOut(&p.Wire), Latency: quantilesOut(&p.Latency),
	}
}

type interfaceSeriesJSON struct {
	InterfaceName string            `json:"interface_name"`
	Points        []seriesPointJSON `json:"points"`
}

type timeseriesResponse struct {
	StepSeconds int64                 `json:"step_seconds"`
	From        string                `json:"from"`
	To          string                `json:"to"`
	SeriesStart string                `json:"series_start"`
	Series      []interfaceSeriesJSON `json:"series"`
}

// parseStep reads a step: a Go duration (60s, 5m, 1h) or a number of days
// (1d, 7d), a positive multiple of 60 s.
func parseStep(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 || days > 400 {
			return 0, paramErr("step", "%q is not a step such as 60s, 5m, 1h or 1d", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, paramErr("step", "%q is not a step such as 60s, 5m, 1h or 1d", s)
		}
	}
	if d <= 0 || d%time.Minute != 0 {
		return 0, paramErr("step", "%q is not a positive multiple of 60s", s)
	}
	return d, nil
}

// parseRange reads from and to: RFC 3339, to defaulting to now and from to
// def before to.
func (s *Server) parseRange(q query, def time.Duration) (from, to time.Time, err error) {
	if from, err = q.time("from"); err != nil {
		return
	}
	if to, err = q.time("to"); err != nil {
		return
	}
	if to.IsZero() {
		to = s.now().UTC()
	}
	if from.IsZero() {
		from = to.Add(-def)
	}
	if from.After(to) {
		err = paramErr("from", "%s is after to (%s)", from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	}
	return
}

func (s *Server) timeseries(c *gin.Context) {
	q, err := newQueryRepeating(c, []string{"interface_name"}, "interface_name", "from", "to", "step")
	if err != nil {
		badRequest(c, err)
		return
	}
	sq := store.SeriesQuery{Step: time.Minute, Interfaces: q.all("interface_name")}
	for _, name := range sq.Interfaces {
		if err := checkInterfaceName("interface_name", name, paramErr); err != nil {
			badRequest(c, err)
			return
		}
	}
	if v, ok := q.str("step"); ok {
		if sq.Step, err = parseStep(v); err != nil {
			badRequest(c, err)
			return
		}
	}
	if sq.From, sq.To, err = s.parseRange(q, defaultSeriesRange); err != nil {
		badRequest(c, err)
		return
	}
	if err := sq.Check(); err != nil {
		if errors.Is(err, store.ErrSeriesPoints) {
			badRequest(c, paramErr("step", "%s; at most %d points per interface", strings.TrimPrefix(err.Error(), store.ErrSeriesPoints.Error()+": "), store.MaxSeriesPoints))
			return
		}
		badRequest(c, paramErr("step", "%v", err))
		return
	}
	res, err := s.cfg.Store.Series(c.Request.Context(), sq)
	if err != nil {
		s.internalError(c, "read the traffic series", err)
		return
	}
	out := timeseriesResponse{
		StepSeconds: int64(res.Step / time.Second),
		From:        res.From.Format(time.RFC3339),
		To:          res.To.Format(time.RFC3339Nano),
		SeriesStart: res.Start.Format(time.RFC3339),
		Series:      make([]interfaceSeriesJSON, len(res.Series)),
	}
	for i := range res.Series {
		ser := &res.Series[i]
		pts := make([]seriesPointJSON, len(ser.Points))
		for j := range ser.Points {
			pts[j] = pointOut(&ser.Points[j])
		}
		out.Series[i] = interfaceSeriesJSON{InterfaceName: ser.Interface, Points: pts}
	}
	s.writeJSON(c, http.StatusOK, out)
}
