package dashboard_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/browser"
)

// TestSeriesInBrowser runs the page's own module (js/series.js) in
// Chromium on a response of GET /api/ntp/history/timeseries in the shape
// issue 11 gives it (testdata/timeseries.json): one chart per measure, one
// line per interface, values per second of the bucket, gaps where an
// interface has no bucket or a percentile is null, and steps that keep a
// chart within 1,000 points.
func TestSeriesInBrowser(t *testing.T) {
	h, ts := newPage(t)
	resp, err := os.ReadFile("testdata/timeseries.json")
	if err != nil {
		t.Fatal(err)
	}
	b := browser.New(t, browser.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.Navigate(ctx, ts.URL+"/ui/#/workers"); err != nil {
		t.Fatal(err)
	}
	type line struct {
		Label  string     `json:"label"`
		Values []*float64 `json:"values"`
	}
	type out struct {
		Xs     []float64 `json:"xs"`
		Charts []struct {
			ID     string `json:"id"`
			Series []line `json:"series"`
		} `json:"charts"`
		Steps map[string]float64 `json:"steps"`
	}
	got, err := browser.Run(ctx, b, chromedp.Evaluate[out](fmt.Sprintf(`import('./s/%s/js/series.js').then((m) => {
		const r = m.specs(%s);
		const steps = {};
		for (const [name, span] of [['1h', 3600], ['24h', 86400], ['7d', 7 * 86400], ['400d', 400 * 86400], ['5min', 300]])
			steps[name] = m.chooseStep(0, span * 1000);
		return { xs: r.xs, charts: r.charts.map((c) => ({ id: c.id, series: c.series.map((s) => ({ label: s.label, values: s.values })) })), steps };
	})`, h.Version(), resp), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	t0 := float64(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).Unix())
	if want := []float64{t0, t0 + 60, t0 + 120, t0 + 180}; fmt.Sprint(got.Xs) != fmt.Sprint(want) {
		t.Errorf("times %v, want %v (every bucket of either interface)", got.Xs, want)
	}
	v := func(x float64) *float64 { return &x }
	want := map[string][]line{
		"requests": {{"eth0", []*float64{v(10), v(0), v(2), nil}}, {"eth1", []*float64{v(1), nil, nil, v(0.5)}}},
		"answered": {{"eth0", []*float64{v(95), nil, v(100.0 * 100 / 120), nil}}, {"eth1", []*float64{v(100), nil, nil, v(50)}}},
		"unanswered": {
			{"eth0 unanswered", []*float64{v(0.4), v(0), v(10.0 / 60), nil}},
			{"eth0 KoD DENY", []*float64{v(0), v(0), v(0.1), nil}},
			{"eth0 KoD RATE", []*float64{v(0.1), v(0), v(4.0 / 60), nil}},
			{"eth1 unanswered", []*float64{v(0), nil, nil, v(0.25)}},
			{"eth1 KoD DENY", []*float64{v(0), nil, nil, v(0)}},
			{"eth1 KoD RATE", []*float64{v(0), nil, nil, v(0)}},
		},
		"clients": {
			{"eth0 distinct", []*float64{v(120), v(0), v(30), nil}}, {"eth0 new", []*float64{v(4), v(0), v(0), nil}},
			{"eth1 distinct", []*float64{v(10), nil, nil, v(5)}}, {"eth1 new", []*float64{v(10), nil, nil, v(0)}},
		},
		"versions":   {{"v3", []*float64{v(1), v(0), v(0), v(0.5)}}, {"v4", []*float64{v(10), v(0), v(2), v(0)}}},
		"modes":      {{"mode 6", []*float64{v(0.05), v(0), v(0), v(0)}}, {"mode 7", []*float64{v(1.0 / 60), v(0), v(0), v(0)}}},
		"processing": {{"eth0 p50", []*float64{v(4e-5), nil, v(5e-5), nil}}, {"eth0 p99", []*float64{v(3e-4), nil, v(5e-4), nil}}, {"eth1 p50", []*float64{v(2e-5), nil, nil, v(2e-5)}}, {"eth1 p99", []*float64{v(4e-5), nil, nil, v(4e-5)}}},
		"wire":       {{"eth0 p50", []*float64{v(6e-5), nil, v(7e-5), nil}}, {"eth0 p99", []*float64{v(4e-4), nil, v(6e-4), nil}}, {"eth1 p50", []*float64{v(3e-5), nil, nil, v(3e-5)}}, {"eth1 p99", []*float64{v(5e-5), nil, nil, v(5e-5)}}},
	}
	if len(got.Charts) != len(want) {
		t.Errorf("%d charts, want %d", len(got.Charts), len(want))
	}
	for _, c := range got.Charts {
		w, ok := want[c.ID]
		if !ok {
			t.Errorf("unexpected chart %q", c.ID)
			continue
		}
		if len(c.Series) != len(w) {
			t.Errorf("%s: %d lines, want %d: %+v", c.ID, len(c.Series), len(w), c.Series)
			continue
		}
		for i, s := range c.Series {
			if s.Label != w[i].Label {
				t.Errorf("%s line %d: %q, want %q", c.ID, i, s.Label, w[i].Label)
			}
			for j := range w[i].Values {
				g, e := s.Values[j], w[i].Values[j]
				if (g == nil) != (e == nil) || (g != nil && math.Abs(*g-*e) > 1e-9*math.Max(1, math.Abs(*e))) {
					t.Errorf("%s %s at %d: %v, want %v", c.ID, s.Label, j, show(g), show(e))
				}
			}
		}
	}
	// The finest step (a multiple of 60 s) that keeps a chart within 1,000 points.
	for name, step := range map[string]float64{"5min": 60, "1h": 60, "24h": 120, "7d": 900, "400d": 43200} {
		if got.Steps[name] != step {
			t.Errorf("step for %s: %v s, want %v s", name, got.Steps[name], step)
		}
	}
	// Only the page is served here: the view's API requests get 404s.
	for _, p := range b.Problems() {
		if !strings.Contains(p, ts.URL+"/api/") {
			t.Errorf("the page reported: %s", p)
		}
	}
}

func show(p *float64) any {
	if p == nil {
		return "gap"
	}
	return *p
}
