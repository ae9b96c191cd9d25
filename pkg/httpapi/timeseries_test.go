package httpapi

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

// getReal sends a GET over a real TCP connection to srv and decodes the
// JSON answer into out; it returns the status.
func getReal(t *testing.T, srv *httptest.Server, path string, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = testHost
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: decode: %v", path, err)
	}
	return resp.StatusCode
}

// serveReal serves the API over st on a real TCP listener, closed when the
// test ends.
func serveReal(t *testing.T, st *store.Store) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(newTestServer(t, st, nil).h)
	t.Cleanup(srv.Close)
	return srv
}

// The fixture's traffic, through real HTTP on a real SQLite file: minute
// points with the fixture's counts, zeros and null percentiles where there
// was no traffic, hour points from the hour buckets with distinct clients
// over the hour, and the interfaces asked for, in that order.
func TestTimeseries(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	srv := serveReal(t, st)

	var got timeseriesResponse
	if code := getReal(t, srv, "/api/ntp/history/timeseries?interface_name=eth0&interface_name=idle0&from=2026-11-25T12:00:30Z&to=2026-11-25T12:03:00Z", &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	if got.StepSeconds != 60 || got.From != "2026-11-25T12:00:00Z" || len(got.Series) != 2 ||
		got.Series[0].InterfaceName != "eth0" || got.Series[1].InterfaceName != "idle0" || got.SeriesStart == "" {
		t.Fatalf("answer: %+v", got)
	}
	pts := got.Series[0].Points
	if len(pts) != 3 {
		t.Fatalf("%d points, want 3 (12:00, 12:01, 12:02)", len(pts))
	}
	// eth0 at 12:00: 192.0.2.1 three times, 192.0.2.2 once unanswered (v3),
	// 2001:db8::1 once; all new.
	p := pts[0]
	if p.T != "2026-11-25T12:00:00Z" || p.Requests != 5 || p.Answered != 4 || p.Unanswered != 1 || p.KoD != 0 ||
		p.Versions["3"] != 1 || p.Versions["4"] != 4 || p.DistinctClients != 3 || p.NewClients != 3 {
		t.Errorf("eth0 12:00: %+v", p)
	}
	if p.Processing.P50 == nil || math.Abs(*p.Processing.P50-0.0001) > 0.0001*0.011 || p.Processing.Max == nil || *p.Processing.Max != 0.0001 {
		t.Errorf("eth0 12:00 processing: %+v, want 0.0001 within 1.1 %%", p.Processing)
	}
	for _, e := range []seriesPointJSON{pts[1], got.Series[1].Points[0]} {
		if e.Requests != 0 || e.DistinctClients != 0 || e.Processing.P50 != nil || e.Wire.Max != nil || e.Latency.P99 != nil ||
			e.KoDCodes == nil || e.Versions == nil {
			t.Errorf("a point without traffic: %+v, want zeros and null percentiles", e)
		}
	}

	// Hours: bulk's 45 clients, one a minute from 11:20 to 12:04.
	if code := getReal(t, srv, "/api/ntp/history/timeseries?interface_name=bulk&from=2026-11-25T11:00:00Z&to=2026-11-25T13:00:00Z&step=1h", &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	hp := got.Series[0].Points
	if got.StepSeconds != 3600 || len(hp) != 2 || hp[0].DistinctClients != 40 || hp[1].DistinctClients != 5 || hp[0].NewClients != 40 {
		t.Errorf("bulk hours: %+v", hp)
	}
	// A day step: one point over both hours and every interface.
	if code := getReal(t, srv, "/api/ntp/history/timeseries?from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z&step=1d", &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(got.Series) != 4 || got.Series[0].InterfaceName != "bulk" || got.Series[0].Points[0].DistinctClients != 45 {
		t.Errorf("a day of every interface: %+v", got.Series)
	}

	// The default range is the last hour at 60 s (the test clock is 13:00).
	if code := getReal(t, srv, "/api/ntp/history/timeseries", &got); code != 200 || got.From != "2026-11-25T12:00:00Z" || len(got.Series[0].Points) != 60 {
		t.Errorf("default range: status %d, from %s, %d series", code, got.From, len(got.Series))
	}
}

// A bad request names the field at fault.
func TestTimeseriesBadRequests(t *testing.T) {
	srv := serveReal(t, openStore(t))
	for _, c := range []struct{ query, field string }{
		{"step=90s", "step"},
		{"step=0s", "step"},
		{"step=-1m", "step"},
		{"step=fast", "step"},
		{"step=0d", "step"},
		{"from=2026-11-25T12:00:00Z&to=2026-11-25T11:00:00Z", "from"},
		{"from=2025-10-20T00:00:00Z&to=2026-11-25T00:00:00Z&step=60s", "step"},
		{"from=yesterday", "from"},
		{"interface_name=", "interface_name"},
		{"step=1m&step=5m", "step"},
		{"bucket=1", "bucket"},
	} {
		var body errorBody
		if code := getReal(t, srv, "/api/ntp/history/timeseries?"+c.query, &body); code != 400 || body.Error.Field != c.field {
			t.Errorf("%s: %d, field %q (%s); want 400 with field %s", c.query, code, body.Error.Field, body.Error.Message, c.field)
		}
	}
}

// The statistics' range holds session percentiles, not percentiles of the
// per-client means: eth0's latencies are 1, 2 and 3 ms from one client and
// 0.5 ms from another, so the sessions' median is 1 ms while the median of
// the two clients' means is 0.5 ms. Distinct clients are addresses: the
// service's range counts 2001:db8::1 once though it has two rows.
func TestStatisticsRange(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	srv := serveReal(t, st)
	var ifs interfaceStatsResponse
	if code := getReal(t, srv, "/api/ntp/history/interfaces/statistics?from=2026-11-25T11:00:00Z&to=2026-11-25T12:30:00Z", &ifs); code != 200 {
		t.Fatalf("status %d", code)
	}
	var eth0 *interfaceStatsJSON
	for i := range ifs.Data {
		if ifs.Data[i].InterfaceName == "eth0" {
			eth0 = &ifs.Data[i]
		}
	}
	if eth0 == nil || eth0.Range == nil {
		t.Fatalf("no eth0 range: %+v", ifs.Data)
	}
	r := eth0.Range
	if r.From != "2026-11-25T11:00:00Z" || r.Requests != 5 || r.DistinctClients != 3 || r.NewClients != 3 {
		t.Errorf("eth0 range: %+v", r)
	}
	if p := r.Latency.P50; p == nil || math.Abs(*p-0.001) > 0.001*0.011 {
		t.Errorf("eth0 latency p50 over sessions = %v, want 0.001", p)
	}
	if p := eth0.Latency.P50; p == nil || math.Abs(*p-0.0005) > 0.0005*0.011 {
		t.Errorf("eth0 p50 of client means = %v, want 0.0005 (kept as it was)", p)
	}
	if p := r.Latency.Max; p == nil || *p != 0.003 {
		t.Errorf("eth0 latency max = %v, want 0.003", p)
	}

	var svc serviceStatsResponse
	if code := getReal(t, srv, "/api/ntp/history/service/statistics?from=2026-11-25T11:00:00Z&to=2026-11-25T12:30:00Z", &svc); code != 200 {
		t.Fatalf("status %d", code)
	}
	if svc.Range == nil || svc.Range.Requests != 54 || svc.Range.NewClients != 51 || svc.Range.DistinctClients != 50 {
		t.Errorf("service range: %+v; want 54 requests, 51 new client rows, 50 distinct addresses", svc.Range)
	}
	// A range after the traffic has none, and says so with zeros.
	if code := getReal(t, srv, "/api/ntp/history/service/statistics?from=2026-11-25T12:10:00Z&to=2026-11-25T12:30:00Z", &svc); code != 200 ||
		svc.Range.Requests != 0 || svc.Range.Processing.P50 != nil {
		t.Errorf("an empty range: %d %+v", code, svc.Range)
	}
}

// Sessions the capture cut short after the NTP header are counted in the
// point they fall in and in the range totals, and nowhere else.
func TestTimeseriesSnaplenCut(t *testing.T) {
	st := openStore(t)
	cut := func(s *session.Session) { s.SnaplenCut = true }
	commit(t, st,
		sess("192.0.2.1", at(10*time.Second), cut),
		sess("192.0.2.2", at(20*time.Second)),
		sess("192.0.2.3", at(70*time.Second), cut),
		sess("192.0.2.4", at(80*time.Second), cut),
	)
	srv := serveReal(t, st)

	var got timeseriesResponse
	if code := getReal(t, srv, "/api/ntp/history/timeseries?interface_name=eth0&from=2026-11-25T12:00:00Z&to=2026-11-25T12:03:00Z", &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(got.Series) != 1 || len(got.Series[0].Points) != 3 {
		t.Fatalf("answer: %+v", got)
	}
	for i, want := range []int64{1, 2, 0} {
		if p := got.Series[0].Points[i]; p.SnaplenCut != want {
			t.Errorf("point %s: snaplen_cut %d, want %d", p.T, p.SnaplenCut, want)
		}
	}
	var ifs interfaceStatsResponse
	if code := getReal(t, srv, "/api/ntp/history/interfaces/statistics?from=2026-11-25T11:00:00Z&to=2026-11-25T12:30:00Z", &ifs); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(ifs.Data) != 1 || ifs.Data[0].Range == nil || ifs.Data[0].Range.SnaplenCut != 3 || ifs.Data[0].Range.Requests != 4 {
		t.Errorf("range: %+v, want 3 of 4 cut", ifs.Data)
	}
}
