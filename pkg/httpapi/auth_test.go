package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// TestReadToken: with a read token every read needs it or the admin
// token; the read token opens nothing else; /health and /metrics stay open
// unless ProtectMetrics.
func TestReadToken(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	const admin, read = "admin-secret", "read-secret"
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) })
	open := newTestServer(t, st, func(c *Config) { c.Token, c.ReadToken, c.Page = admin, read, page })
	guarded := newTestServer(t, st, func(c *Config) { c.Token, c.ReadToken, c.ProtectMetrics = admin, read, true })
	adminOnly := newTestServer(t, st, func(c *Config) { c.Token, c.ProtectMetrics = admin, true })

	reads := []struct{ method, path, body string }{
		{"GET", "/api/ntp/history/clients", ""},
		{"GET", "/api/ntp/history/clients/192.0.2.1", ""},
		{"POST", "/api/ntp/history/search", "{}"},
		{"GET", "/api/ntp/history/interfaces/statistics", ""},
		{"GET", "/api/ntp/history/service/statistics", ""},
		{"GET", "/api/ntp/history/health", ""},
		{"GET", "/api/ntp/interfaces", ""},
		{"GET", "/api/ntp/interfaces/eth0/status", ""},
	}
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	for _, p := range reads {
		body := nullIfEmpty(p.body)
		r := open.do(p.method, p.path, body)
		wantStatus(t, r, http.StatusUnauthorized)
		if !strings.HasPrefix(r.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: 401 without a challenge", p.path)
		}
		wantStatus(t, open.do(p.method, p.path, body, bearer("wrong")...), http.StatusForbidden)
		// What follows the check is the endpoint's own answer: 503 for the
		// interfaces without a supervisor.
		want := http.StatusOK
		if strings.HasPrefix(p.path, "/api/ntp/interfaces") {
			want = http.StatusServiceUnavailable
		}
		wantStatus(t, open.do(p.method, p.path, body, bearer(read)...), want)
		wantStatus(t, open.do(p.method, p.path, body, bearer(admin)...), want)
	}
	// The read token opens no admin endpoint, and says so.
	for _, p := range []struct{ path, body string }{
		{"/api/ntp/history/cleanup", `{"older_than_days":1,"dry_run":true}`},
		{"/api/ntp/history/export", `{"format":"csv"}`},
		{"/api/ntp/interfaces/eth0/start", `{}`},
		{"/api/ntp/interfaces/eth0/stop", ``},
	} {
		r := open.do("POST", p.path, nullIfEmpty(p.body), bearer(read)...)
		wantStatus(t, r, http.StatusForbidden)
		if msg := decode[errorBody](t, r).Error.Message; !strings.Contains(msg, "admin token") {
			t.Errorf("%s with the read token: %q", p.path, msg)
		}
	}
	// Monitors: open unless protected; protected, the read or the admin
	// token opens them, and the admin token alone when there is no read
	// token.
	for _, path := range []string{"/health", "/metrics"} {
		wantStatus(t, open.do("GET", path, nil, "Authorization", ""), http.StatusOK)
		wantStatus(t, guarded.do("GET", path, nil, "Authorization", ""), http.StatusUnauthorized)
		wantStatus(t, guarded.do("GET", path, nil, bearer(read)...), http.StatusOK)
		wantStatus(t, guarded.do("GET", path, nil, bearer(admin)...), http.StatusOK)
		wantStatus(t, adminOnly.do("GET", path, nil, "Authorization", ""), http.StatusUnauthorized)
		wantStatus(t, adminOnly.do("GET", path, nil, bearer(admin)...), http.StatusOK)
		wantStatus(t, adminOnly.do("GET", path, nil, bearer(read)...), http.StatusForbidden)
	}
	// The page's files carry no data and cannot be asked for with a token.
	wantStatus(t, open.do("GET", "/ui/", nil, "Authorization", ""), http.StatusOK)
	// Without a read token, reads stay open.
	wantStatus(t, adminOnly.do("GET", "/api/ntp/history/clients", nil, "Authorization", ""), http.StatusOK)
}

// TestConfigRefused: the API does not start open by mistake.
func TestConfigRefused(t *testing.T) {
	st := openStore(t)
	for name, cfg := range map[string]Config{
		"no token and no NoAuth":      {},
		"a token and NoAuth":          {Token: "t", NoAuth: true},
		"NoAuth with a read token":    {NoAuth: true, ReadToken: "r"},
		"protected metrics, no token": {NoAuth: true, ProtectMetrics: true},
		"read token = admin token":    {Token: "same", ReadToken: "same"},
	} {
		cfg.Store = st
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}
