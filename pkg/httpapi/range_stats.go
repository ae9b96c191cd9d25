package httpapi

// The traffic of a range of time in the statistics endpoints, read from the
// series: true session percentiles from the merged histograms, distinct
// clients from the merged sketches, new clients summed. The store keeps the
// merge of a range's settled past until a write reaches it
// (store.SeriesTotals), so no cache is needed here.

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

// defaultStatsRange is the range of the statistics' series figures without
// from.
const defaultStatsRange = 24 * time.Hour

// rangeJSON is a range's traffic: the range, and its totals.
type rangeJSON struct {
	From        string `json:"from"`
	To          string `json:"to"`
	SeriesStart string `json:"series_start"`
	seriesCountsJSON
}

// seriesRange reads from and to (default: the last day) and the series'
// totals per interface over them.
func (s *Server) seriesRange(ctx context.Context, q query) (map[string]*store.SeriesBucket, rangeJSON, error) {
	from, to, err := s.parseRange(q, defaultStatsRange)
	if err != nil {
		return nil, rangeJSON{}, err
	}
	start, err := s.cfg.Store.SeriesStart(ctx)
	if err != nil {
		return nil, rangeJSON{}, err
	}
	tot, covered, err := s.cfg.Store.SeriesTotals(ctx, from, to, nil)
	if err != nil {
		return nil, rangeJSON{}, err
	}
	return tot, rangeJSON{From: covered.From.Format(time.RFC3339Nano), To: covered.To.Format(time.RFC3339Nano), SeriesStart: start.Format(time.RFC3339)}, nil
}

// rangeFailed answers seriesRange's error: 400 for a bad from or to.
func (s *Server) rangeFailed(c *gin.Context, err error) {
	if _, ok := err.(*validationError); ok {
		badRequest(c, err)
		return
	}
	s.internalError(c, "read the traffic series", err)
}

// rangeOf is r with the totals of b (nil: no traffic).
func rangeOf(r rangeJSON, b *store.SeriesBucket) *rangeJSON {
	if b == nil {
		b = new(store.SeriesBucket)
	}
	r.seriesCountsJSON = countsOut(b)
	return &r
}

// mergeAll is the traffic of every interface together: distinct clients
// are distinct addresses over all of them.
func mergeAll(tot map[string]*store.SeriesBucket) *store.SeriesBucket {
	var all store.SeriesBucket
	for _, b := range tot {
		all.Merge(b)
	}
	return &all
}
