package httpapi

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/buildinfo"
)

func TestCleanup(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	ts := newTestServer(t, st, nil)
	count := func() int64 {
		n, err := st.CountClients(context.Background(), storeFilterAll)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// The bulk clients were last seen 40 … -4 minutes around base; the clock
	// is base+1h. Cut at base-30min: bulk clients 0–9 are older.
	cut := base.Add(-30 * time.Minute).Format(time.RFC3339)

	r := ts.do("POST", "/api/ntp/history/cleanup", map[string]any{"before": cut, "dry_run": true})
	wantStatus(t, r, http.StatusOK)
	got := decode[map[string]any](t, r)
	if got["matched"] != 10.0 || got["deleted"] != 0.0 || got["dry_run"] != true {
		t.Errorf("dry run = %v", got)
	}
	if n := count(); n != 51 {
		t.Fatalf("dry run deleted rows: %d left", n)
	}

	r = ts.do("POST", "/api/ntp/history/cleanup", map[string]any{"before": cut})
	wantStatus(t, r, http.StatusOK)
	got = decode[map[string]any](t, r)
	if got["matched"] != 10.0 || got["deleted"] != 10.0 || got["dry_run"] != false {
		t.Errorf("cleanup = %v", got)
	}
	if n := count(); n != 41 {
		t.Fatalf("%d left, want 41", n)
	}
	// The rows left are exactly the ones seen at or after the cutoff.
	r = ts.do("GET", "/api/ntp/history/clients?page_size=1000&sort_by=last_seen&sort_order=asc", nil)
	oldest, _ := time.Parse(time.RFC3339Nano, decode[listBody](t, r).Data[0]["last_seen_timestamp"].(string))
	if oldest.Before(base.Add(-30 * time.Minute)) {
		t.Errorf("a row older than the cutoff survived: %s", oldest)
	}
	// Again: nothing more to delete.
	r = ts.do("POST", "/api/ntp/history/cleanup", map[string]any{"before": cut})
	if got := decode[map[string]any](t, r); got["deleted"] != 0.0 {
		t.Errorf("second cleanup = %v", got)
	}
	// older_than_days: the clock is base+1h, so 1/48 day (30 min) cuts at
	// base+30min and removes every fixture row.
	r = ts.do("POST", "/api/ntp/history/cleanup", map[string]any{"older_than_days": 1.0 / 48, "dry_run": true})
	if got := decode[map[string]any](t, r); got["matched"] != 41.0 {
		t.Errorf("older_than_days dry run = %v", got)
	}
	r = ts.do("POST", "/api/ntp/history/cleanup", map[string]any{"older_than_days": 1.0 / 48})
	if got := decode[map[string]any](t, r); got["deleted"] != 41.0 || count() != 0 {
		t.Errorf("older_than_days = %v, %d left", got, count())
	}
}

// TestCleanupManyChunks deletes more rows than one delete chunk.
func TestCleanupManyChunks(t *testing.T) {
	st := openStore(t)
	var ss []sessionT
	for i := range 12000 {
		ss = append(ss, bulkSession(i))
	}
	commit(t, st, ss...)
	ts := newTestServer(t, st, func(c *Config) { c.Now = func() time.Time { return base.Add(24 * time.Hour) } })
	// bulkSession(i) is seen at base+i s: cut at base+11000 s.
	cut := base.Add(11000 * time.Second).Format(time.RFC3339)
	r := ts.do("POST", "/api/ntp/history/cleanup", map[string]any{"before": cut})
	wantStatus(t, r, http.StatusOK)
	if got := decode[map[string]any](t, r); got["deleted"] != 11000.0 {
		t.Errorf("cleanup before %s = %v", cut, got)
	}
	if n, _ := st.CountClients(context.Background(), storeFilterAll); n != 1000 {
		t.Errorf("%d rows left, want 1000", n)
	}
}

func TestAuth(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	const token = "s3cret-token"
	on := newTestServer(t, st, func(c *Config) { c.Token = token })
	off := newTestServer(t, st, func(c *Config) { c.NoAuth = true })

	protected := []struct{ method, path, body string }{
		{"POST", "/api/ntp/history/cleanup", `{"older_than_days":3650,"dry_run":true}`},
		{"POST", "/api/ntp/history/export", `{"format":"ndjson","limit":1}`},
		{"POST", "/api/ntp/interfaces/eth0/start", `{}`},
		{"POST", "/api/ntp/interfaces/eth0/stop", `{}`},
	}
	for _, p := range protected {
		t.Run(p.path, func(t *testing.T) {
			r := on.do(p.method, p.path, p.body)
			wantStatus(t, r, http.StatusUnauthorized)
			if h := r.Header().Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
				t.Errorf("401 without a Bearer challenge: %q", h)
			}
			if code := decode[errorBody](t, r).Error.Code; code != CodeUnauthorized {
				t.Errorf("code %q", code)
			}
			r = on.do(p.method, p.path, p.body, "Authorization", "Basic dXNlcjpwYXNz")
			wantStatus(t, r, http.StatusUnauthorized)
			if h := r.Header().Get("WWW-Authenticate"); !strings.Contains(h, "invalid_request") {
				t.Errorf("malformed header: challenge %q", h)
			}
			wantStatus(t, on.do(p.method, p.path, p.body, "Authorization", "Bearer"), http.StatusUnauthorized)
			r = on.do(p.method, p.path, p.body, "Authorization", "Bearer wrong")
			wantStatus(t, r, http.StatusForbidden)
			if code := decode[errorBody](t, r).Error.Code; code != CodeForbidden {
				t.Errorf("code %q", code)
			}
			wantStatus(t, on.do(p.method, p.path, p.body, "Authorization", "Bearer "+token+"x"), http.StatusForbidden)
			// The right token passes the check: what follows is the
			// endpoint's own answer (503 without a supervisor).
			want := http.StatusOK
			if strings.HasPrefix(p.path, "/api/ntp/interfaces") {
				want = http.StatusServiceUnavailable
			}
			wantStatus(t, on.do(p.method, p.path, p.body, "Authorization", "Bearer "+token), want)
			wantStatus(t, on.do(p.method, p.path, p.body, "Authorization", "bearer "+token), want)
			// With NoAuth everything is open.
			wantStatus(t, off.do(p.method, p.path, p.body), want)
		})
	}
	// Reads stay open with a token configured.
	for _, path := range []string{"/api/ntp/history/clients", "/api/ntp/history/clients/192.0.2.1",
		"/api/ntp/history/interfaces/statistics", "/api/ntp/history/service/statistics",
		"/api/ntp/history/health", "/health", "/metrics"} {
		wantStatus(t, on.do("GET", path, nil), http.StatusOK)
	}
	wantStatus(t, on.do("POST", "/api/ntp/history/search", `{}`), http.StatusOK)
}

func TestInterfaceStatistics(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	ts := newTestServer(t, st, nil)
	r := ts.do("GET", "/api/ntp/history/interfaces/statistics", nil)
	wantStatus(t, r, http.StatusOK)
	type statsBody struct {
		Data []struct {
			InterfaceName  string           `json:"interface_name"`
			Clients        int64            `json:"clients"`
			ActiveLastHour int64            `json:"active_clients_last_hour"`
			ActiveLastDay  int64            `json:"active_clients_last_day"`
			Sessions       int64            `json:"sessions"`
			Unanswered     int64            `json:"unanswered"`
			KoD            int64            `json:"kod"`
			Versions       map[string]int64 `json:"ntp_versions"`
			Latency        metricJSON       `json:"client_to_server_latency_seconds"`
			FirstSeen      string           `json:"first_seen_timestamp"`
			LastSeen       string           `json:"last_seen_timestamp"`
		} `json:"data"`
		GeneratedAt string `json:"generated_at"`
	}
	body := decode[statsBody](t, r)
	byName := map[string]int{}
	for i, d := range body.Data {
		byName[d.InterfaceName] = i
	}
	if len(body.Data) != 4 {
		t.Fatalf("%d interfaces: %+v", len(body.Data), body.Data)
	}
	eth0 := body.Data[byName["eth0"]]
	// eth0: 192.0.2.1 (3 sessions, latency 1,2,3 ms), 192.0.2.2 (1
	// unanswered, v3), 2001:db8::1 (1 session, 0.5 ms).
	if eth0.Clients != 3 || eth0.Sessions != 5 || eth0.Unanswered != 1 || eth0.KoD != 0 {
		t.Errorf("eth0 = %+v", eth0)
	}
	if eth0.Versions["4"] != 2 || eth0.Versions["3"] != 1 {
		t.Errorf("eth0 versions %v", eth0.Versions)
	}
	// Mean over sessions: (1+2+3+0.5)/4 ms. Client means are 2 ms and
	// 0.5 ms: nearest-rank p50 is 0.5 ms, p95 2 ms, each read from the
	// bucket it falls in (within 1.1 %).
	if m := *eth0.Latency.Mean; m < 0.001624 || m > 0.001626 {
		t.Errorf("eth0 latency mean %v", m)
	}
	if eth0.Latency.Sessions != 4 || eth0.Latency.Clients != 2 || *eth0.Latency.Min != 0.0005 || *eth0.Latency.Max != 0.003 {
		t.Errorf("eth0 latency %+v", eth0.Latency)
	}
	if math.Abs(*eth0.Latency.P50-0.0005) > 0.0005*0.011 || math.Abs(*eth0.Latency.P95-0.002) > 0.002*0.011 {
		t.Errorf("eth0 latency p50 %v p95 %v", *eth0.Latency.P50, *eth0.Latency.P95)
	}
	// Active windows: the clock is base+1h; every fixture row is within the
	// day, and the bulk rows seen at base-40min … base+4min are within the
	// hour from base+0 only.
	bulk := body.Data[byName["bulk"]]
	if bulk.Clients != 45 || bulk.ActiveLastDay != 45 || bulk.ActiveLastHour != 5 {
		t.Errorf("bulk = clients %d day %d hour %d", bulk.Clients, bulk.ActiveLastDay, bulk.ActiveLastHour)
	}
	eth1 := body.Data[byName["eth1"]]
	if eth1.KoD != 1 || eth1.Versions["2"] != 1 || eth1.Latency.Clients != 1 {
		t.Errorf("eth1 = %+v", eth1)
	}
	if _, ok := byName[weirdIface]; !ok {
		t.Errorf("interface %q missing", weirdIface)
	}
}

// TestStatisticsLive: the interface statistics count a client the moment
// its commit ends (they are read from totals the commit keeps, not from a
// cached computation), and a cleanup's deletions at once.
func TestStatisticsLive(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	ts := newTestServer(t, st, nil)
	clients := func() float64 {
		r := ts.do("GET", "/api/ntp/history/interfaces/statistics", nil)
		wantStatus(t, r, http.StatusOK)
		var sum float64
		for _, d := range decode[map[string]any](t, r)["data"].([]any) {
			sum += d.(map[string]any)["clients"].(float64)
		}
		return sum
	}
	if n := clients(); n != 51 {
		t.Fatalf("clients %v", n)
	}
	commit(t, st, sess("203.0.113.9"))
	if n := clients(); n != 52 {
		t.Errorf("after a commit of a new client: %v clients, want 52", n)
	}
	// The cleanup deletes nine of the fixture's clients and the new one,
	// whose session has no capture time.
	ts.do("POST", "/api/ntp/history/cleanup", map[string]any{"before": base.Add(-30 * time.Minute).Format(time.RFC3339)})
	if n := clients(); n != 42 {
		t.Errorf("after cleanup: %v clients, want 42", n)
	}
}

func TestHealthAndServiceStatistics(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	ts := newTestServer(t, st, nil)
	for _, p := range []string{"/health", "/api/ntp/history/health"} {
		r := ts.do("GET", p, nil)
		wantStatus(t, r, http.StatusOK)
		if got := decode[map[string]any](t, r); got["status"] != "ok" {
			t.Errorf("%s = %v", p, got)
		}
	}
	r := ts.do("GET", "/api/ntp/history/service/statistics", nil)
	wantStatus(t, r, http.StatusOK)
	got := decode[map[string]any](t, r)
	db := got["database"].(map[string]any)
	if db["rows"] != 51.0 || db["size_bytes"].(float64) <= 0 {
		t.Errorf("database = %v", db)
	}
	// A closed store is a failing database check, named.
	st.Close()
	r = ts.do("GET", "/health", nil)
	wantStatus(t, r, http.StatusServiceUnavailable)
	got = decode[map[string]any](t, r)
	if got["status"] != "unhealthy" || got["failing"].([]any)[0] != "database" {
		t.Errorf("health with closed DB = %v", got)
	}
}

func TestMetrics(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	m := NewMetrics()
	ts := newTestServer(t, st, func(c *Config) { c.Metrics = m })
	m.ObserveBatch(100, 80, 3*time.Millisecond)
	r := ts.do("GET", "/metrics", nil)
	wantStatus(t, r, http.StatusOK)
	body := r.Body.String()
	for _, want := range []string{
		`ntp_clients{interface="bulk"} 45`,
		`ntp_clients{interface="eth0"} 3`,
		`ntp_clients{interface="we,ird\"if"} 1`,
		"ntp_collector_batch_commit_seconds_count 1",
		"ntp_collector_batch_sessions_sum 100",
		"ntp_store_up 1",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestBuildInfo: /health and /metrics say which build answers, as
// --version does (cmd/ntp-collector checks the values a stamped build gives).
func TestBuildInfo(t *testing.T) {
	ts := newTestServer(t, openStore(t), nil)
	want := buildinfo.Read()
	for _, p := range []string{"/health", "/api/ntp/history/health"} {
		r := ts.do("GET", p, nil)
		wantStatus(t, r, http.StatusOK)
		if got := decode[struct{ Build buildinfo.Info }](t, r).Build; got != want {
			t.Errorf("%s: build %+v, want %+v", p, got, want)
		}
	}
	r := ts.do("GET", "/metrics", nil)
	wantStatus(t, r, http.StatusOK)
	line := fmt.Sprintf(`ntp_build_info{commit=%q,goversion=%q,version=%q} 1`, want.Commit, want.GoVersion, want.Version)
	if !strings.Contains(r.Body.String(), line+"\n") {
		t.Errorf("metrics lack %s", line)
	}
}

func TestListTotalReuse(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	ts := newTestServer(t, st, func(c *Config) { c.CountMaxAge = time.Hour })
	total := func(q string) int64 {
		r := ts.do("GET", "/api/ntp/history/clients?"+q, nil)
		wantStatus(t, r, http.StatusOK)
		return decode[listBody](t, r).Pagination.Total
	}
	if n := total("interface_name=eth0"); n != 3 {
		t.Fatalf("total %d", n)
	}
	commit(t, st, sess("203.0.113.9"))
	// Same filter within the max age: the total is reused, the rows are fresh.
	r := ts.do("GET", "/api/ntp/history/clients?interface_name=eth0&page_size=10", nil)
	b := decode[listBody](t, r)
	if b.Pagination.Total != 3 || len(b.Data) != 4 {
		t.Errorf("reused total %d with %d fresh rows", b.Pagination.Total, len(b.Data))
	}
	// Another filter counts afresh.
	if n := total("interface_name=eth0&ntp_version=4"); n != 3 {
		t.Errorf("new filter total %d, want 3", n)
	}
	// A cleanup forgets every total.
	ts.do("POST", "/api/ntp/history/cleanup", map[string]any{"before": base.Format(time.RFC3339)})
	if n := total("interface_name=eth0"); n != 4 {
		t.Errorf("after cleanup: total %d, want 4", n)
	}
}
