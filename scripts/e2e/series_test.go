//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"
)

// seriesPoint is the part of a timeseries point the e2e compares.
type seriesPoint struct {
	T        time.Time      `json:"t"`
	Requests int            `json:"requests"`
	Answered int            `json:"answered"`
	KoD      int            `json:"kod"`
	Versions map[string]int `json:"versions"`
	Modes    map[string]int `json:"modes"`
}

// timeseries reads one interface's points at a 60 s step over the minutes
// [from, to], both included.
func (c *collector) timeseries(ctx context.Context, iface string, from, to time.Time) (map[time.Time]seriesPoint, error) {
	q := url.Values{
		"interface_name": {iface},
		"from":           {from.UTC().Truncate(time.Minute).Format(time.RFC3339)},
		"to":             {to.UTC().Truncate(time.Minute).Add(time.Minute).Format(time.RFC3339)},
		"step":           {"60s"},
	}
	var v struct {
		Series []struct {
			InterfaceName string        `json:"interface_name"`
			Points        []seriesPoint `json:"points"`
		} `json:"series"`
	}
	st, raw, err := c.api(ctx, "GET", "/api/ntp/history/timeseries?"+q.Encode(), nil, &v)
	if err != nil || st != http.StatusOK {
		return nil, fmt.Errorf("timeseries %s: %d %s %v", iface, st, raw, err)
	}
	out := map[time.Time]seriesPoint{}
	for _, s := range v.Series {
		if s.InterfaceName == iface {
			for _, p := range s.Points {
				out[p.T.UTC()] = p
			}
		}
	}
	return out, nil
}

// compareSeries checks the traffic series of the capture interface against
// tshark's count of the same traffic, minute by minute: requests,
// answered, KoD, versions and mode 6 packets.
func (c *collector) compareSeries(ctx context.Context, t *testing.T, m *mismatches, iface string, w *fromWire) {
	t.Helper()
	if len(w.minutes) == 0 {
		return
	}
	minutes := slices.Sorted(maps.Keys(w.minutes))
	first, last := time.Unix(minutes[0], 0), time.Unix(minutes[len(minutes)-1], 0)
	pts, err := c.timeseries(ctx, iface, first, last)
	if err != nil {
		t.Error(err)
		return
	}
	for _, at := range minutes {
		want, got := w.minutes[at], pts[time.Unix(at, 0).UTC()]
		what := func(f string) string {
			return "series " + iface + " " + time.Unix(at, 0).UTC().Format("15:04") + " " + f
		}
		m.check(got.Requests == want.Requests, what("requests"), got.Requests, want.Requests, "series", "tshark")
		m.check(got.Answered == want.Answered, what("answered"), got.Answered, want.Answered, "series", "tshark")
		m.check(got.KoD == want.KoD, what("kod"), got.KoD, want.KoD, "series", "tshark")
		m.check(got.Modes["6"] == want.Mode6, what("mode 6 packets"), got.Modes["6"], want.Mode6, "series", "tshark")
		for vn, n := range want.Versions {
			m.check(got.Versions[strconv.Itoa(vn)] == n, what(fmt.Sprintf("NTPv%d requests", vn)), got.Versions[strconv.Itoa(vn)], n, "series", "tshark")
		}
	}
	t.Logf("series of %s over %d minutes compared with tshark", iface, len(minutes))
}
