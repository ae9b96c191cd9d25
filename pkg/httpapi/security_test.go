package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// pageCSP is what the test page sets, standing for the dashboard's own
// policy.
const pageCSP = "default-src 'self'"

// TestSecurityHeaders: every answer — a list, an error of each kind, a
// refused request, an export, the metrics — carries the headers; the page
// under /ui/ keeps the policy it sets itself.
func TestSecurityHeaders(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", pageCSP)
		w.Write([]byte("<!doctype html>"))
	})
	ts := newTestServer(t, st, func(c *Config) { c.Page = page })
	for _, tc := range []struct {
		method, path, body string
		hdr                []string
		status             int
		csp                string
	}{
		{"GET", "/api/ntp/history/clients", "", nil, 200, ContentSecurityPolicy},
		{"GET", "/api/ntp/history/clients/not-an-ip", "", nil, 400, ContentSecurityPolicy},
		{"GET", "/api/ntp/nothing", "", nil, 404, ContentSecurityPolicy},
		{"POST", "/api/ntp/history/cleanup", `{"older_than_days":1}`, []string{"Authorization", "Bearer wrong"}, 403, ContentSecurityPolicy},
		{"POST", "/api/ntp/history/search", `{}`, []string{"Content-Type", "text/plain"}, 415, ContentSecurityPolicy},
		{"GET", "/health", "", []string{"Host", "evil.example"}, 421, ContentSecurityPolicy},
		{"POST", "/api/ntp/history/export", `{"format":"csv"}`, nil, 200, ContentSecurityPolicy},
		{"GET", "/metrics", "", nil, 200, ContentSecurityPolicy},
		{"GET", "/ui/", "", nil, 200, pageCSP},
	} {
		r := ts.do(tc.method, tc.path, nullIfEmpty(tc.body), tc.hdr...)
		wantStatus(t, r, tc.status)
		h := r.Header()
		for k, want := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
			"Content-Security-Policy": tc.csp,
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s %s: %s: %q, want %q", tc.method, tc.path, k, got, want)
			}
		}
		if h.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s %s: HSTS over plain HTTP", tc.method, tc.path)
		}
		if h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s %s: a CORS answer without a CORS origin configured", tc.method, tc.path)
		}
	}
}

// TestHostCheck: the names the API answers to.
func TestHostCheck(t *testing.T) {
	st := openStore(t)
	ts := newTestServer(t, st, func(c *Config) {
		c.Addr = "192.0.2.5:8000"
		c.AllowedHosts = []string{"ntp.example.net", "proxy.example:8443", "[2001:db8::5]:8000", "NTP2.Example.Net."}
	})
	for host, want := range map[string]int{
		"192.0.2.5:8000":               200, // the listen address
		"192.0.2.5:8001":               421,
		"192.0.2.5":                    421, // port 80 for plain HTTP
		"localhost:8000":               200,
		"LOCALHOST:1234":               200, // a loopback name at any port: a tunnel, a local proxy
		"127.0.0.1:8000":               200,
		"127.0.0.1":                    200,
		"[::1]:8000":                   200,
		"[0:0::1]:9":                   200,
		"[::ffff:127.0.0.1]:8000":      200,
		"127.0.0.2:8000":               421,
		"ntp.example.net":              200, // allowed without a port: any port
		"ntp.example.net:8000":         200,
		"ntp.example.net.":             200,
		"ntp2.example.net:443":         200,
		"proxy.example:8443":           200,
		"proxy.example:8000":           421,
		"proxy.example":                421,
		"[2001:db8::5]:8000":           200,
		"[2001:db8:0::5]:8000":         200,
		"[2001:db8::5]:80":             421,
		"evil.example:8000":            421,
		"ntp.example.net.evil.example": 421,
		"localhost.":                   200,
		"192.0.2.5:8000@evil":          421,
		"192.0.2.5:0":                  421,
	} {
		r := ts.do("GET", "/health", nil, "Host", host)
		if r.Code != want {
			t.Errorf("Host %q: %d, want %d: %s", host, r.Code, want, r.Body.String())
		}
		if want == 421 {
			if code := decode[errorBody](t, r).Error.Code; code != CodeMisdirected {
				t.Errorf("Host %q: code %q", host, code)
			}
		}
	}
	for _, bad := range []string{"https://ntp.example.net", "*.example.net", "ntp.example.net/ntp", "", "host:port"} {
		if _, err := New(Config{Store: st, Token: "t", AllowedHosts: []string{bad}}); err == nil {
			t.Errorf("allowed host %q accepted", bad)
		}
	}
}

// TestCrossOriginRequests: a state-changing request is refused whenever it
// says it comes from another origin, token or not; same-origin pages and
// programs that send no Origin pass.
func TestCrossOriginRequests(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	ts := newTestServer(t, st, func(c *Config) { c.AllowedHosts = []string{"ntp.example.net"} })
	cleanup := `{"older_than_days":36500,"dry_run":true}`
	for _, tc := range []struct {
		name   string
		hdr    []string
		status int
	}{
		{"no Origin (curl, a script)", nil, 200},
		{"same origin", []string{"Origin", "http://" + testHost}, 200},
		{"same origin, Sec-Fetch-Site", []string{"Origin", "http://" + testHost, "Sec-Fetch-Site", "same-origin"}, 200},
		{"typed into the address bar", []string{"Sec-Fetch-Site", "none"}, 200},
		{"behind the allowed name", []string{"Host", "ntp.example.net", "Origin", "https://ntp.example.net"}, 200},
		{"another origin", []string{"Origin", "http://evil.example"}, 403},
		{"another origin sending the right Host", []string{"Origin", "http://evil.example:8000"}, 403},
		{"cross-site", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"cross-site, Origin forged to match", []string{"Sec-Fetch-Site", "cross-site", "Origin", "http://" + testHost}, 403},
		{"same-site", []string{"Sec-Fetch-Site", "same-site"}, 403},
		{"opaque origin", []string{"Origin", "null"}, 403},
		{"another port of this host", []string{"Origin", "http://127.0.0.1:3000"}, 403},
		{"the allowed name as origin on the listen address", []string{"Origin", "https://ntp.example.net"}, 403},
	} {
		r := ts.do("POST", "/api/ntp/history/cleanup", cleanup, tc.hdr...)
		if r.Code != tc.status {
			t.Errorf("%s: %d, want %d: %s", tc.name, r.Code, tc.status, r.Body.String())
			continue
		}
		if tc.status == 403 {
			if code := decode[errorBody](t, r).Error.Code; code != CodeCrossOrigin {
				t.Errorf("%s: code %q", tc.name, code)
			}
		}
	}
	// Reads from other origins are answered (the browser keeps the answer
	// from the other page), with no CORS header.
	r := ts.do("GET", "/api/ntp/history/clients", nil, "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site")
	wantStatus(t, r, 200)
	if r.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS answer without a CORS origin")
	}
}

// TestCORS: with a CORS origin, that origin alone may read, with the
// Authorization header; it may change nothing.
func TestCORS(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	const origin = "https://grafana.example.net"
	ts := newTestServer(t, st, func(c *Config) { c.CORSOrigin = origin })

	r := ts.do("GET", "/api/ntp/history/clients", nil, "Origin", origin)
	wantStatus(t, r, 200)
	if got := r.Header().Get("Access-Control-Allow-Origin"); got != origin {
		t.Errorf("Access-Control-Allow-Origin %q", got)
	}
	if !strings.Contains(strings.Join(r.Header().Values("Vary"), ","), "Origin") {
		t.Errorf("Vary %q", r.Header().Values("Vary"))
	}
	// The preflight of a read with the token.
	r = ts.do("OPTIONS", "/api/ntp/history/clients", nil, "Origin", origin, "Authorization", "",
		"Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization")
	wantStatus(t, r, http.StatusNoContent)
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":  origin,
		"Access-Control-Allow-Methods": "GET, HEAD",
		"Access-Control-Allow-Headers": "Authorization",
	} {
		if got := r.Header().Get(k); got != want {
			t.Errorf("preflight %s: %q, want %q", k, got, want)
		}
	}
	// A write: no preflight passes, and the request itself is refused.
	r = ts.do("OPTIONS", "/api/ntp/history/cleanup", nil, "Origin", origin, "Access-Control-Request-Method", "POST")
	wantStatus(t, r, http.StatusForbidden)
	if r.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("a POST preflight was allowed")
	}
	r = ts.do("POST", "/api/ntp/history/cleanup", `{"older_than_days":1,"dry_run":true}`, "Origin", origin)
	wantStatus(t, r, http.StatusForbidden)
	// Other origins get nothing.
	r = ts.do("GET", "/api/ntp/history/clients", nil, "Origin", "https://evil.example")
	wantStatus(t, r, 200)
	if r.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS answer for another origin")
	}
	r = ts.do("OPTIONS", "/api/ntp/history/clients", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "GET")
	wantStatus(t, r, http.StatusMethodNotAllowed)

	for _, bad := range []string{"*", "grafana.example.net", "https://grafana.example.net/", "https://grafana.example.net/x", "ftp://x"} {
		if _, err := New(Config{Store: st, Token: "t", CORSOrigin: bad}); err == nil {
			t.Errorf("CORS origin %q accepted", bad)
		}
	}
}
