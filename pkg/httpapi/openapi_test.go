package httpapi

import (
	"context"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

const specPath = "../../api/openapi.yaml"

func loadSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(specPath)
	if err != nil {
		t.Fatalf("load %s: %v", specPath, err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("%s is not valid OpenAPI: %v", specPath, err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

var ginParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// TestSpecMatchesRoutes: every route Gin registers is in the spec, and every
// operation in the spec is a registered route.
func TestSpecMatchesRoutes(t *testing.T) {
	doc, _ := loadSpec(t)
	ts := newTestServer(t, openStore(t), nil)
	var registered []string
	for _, r := range ts.srv.Routes() {
		registered = append(registered, r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}"))
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	slices.Sort(registered)
	slices.Sort(documented)
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in %s", r, specPath)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("%s documents %s, which is not a route", specPath, d)
		}
	}
	if len(registered) != 17 {
		t.Errorf("only %d routes registered: %v", len(registered), registered)
	}
}

// validator checks real responses against the spec.
type validator struct {
	t      *testing.T
	router routers.Router
	ts     *testServer
	seen   map[string]bool // "METHOD path status" validated
}

func init() {
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.FileBodyDecoder)
}

func (v *validator) check(method, path, body string, wantStatus int, hdr ...string) {
	v.t.Helper()
	r := v.ts.do(method, path, nullIfEmpty(body), hdr...)
	if r.Code != wantStatus {
		v.t.Errorf("%s %s: status %d, want %d: %.300s", method, path, r.Code, wantStatus, r.Body.String())
		return
	}
	req := httptest.NewRequest(method, "http://127.0.0.1:8000"+path, strings.NewReader(body))
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		v.t.Errorf("%s %s: not in the spec: %v", method, path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	rin := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 r.Code,
		Header:                 r.Header(),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	rin.SetBodyBytes(r.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		v.t.Errorf("%s %s → %d does not match the spec: %v\nbody: %.500s", method, path, r.Code, err, r.Body.String())
	}
	v.seen[route.Method+" "+route.Path] = true
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// TestResponsesMatchSpec sends real requests to a server over a filled store
// and a real supervisor, and validates every response against the spec.
func TestResponsesMatchSpec(t *testing.T) {
	doc, router := loadSpec(t)
	st := openStore(t)
	fixture(t, st)
	// A real supervisor whose "worker" is /bin/false: it starts and exits at
	// once, which exercises start, status with an exit, and stop.
	sup := falseSupervisor(t)
	ts := newTestServer(t, st, func(c *Config) { c.Supervisor = sup; c.Token = "tok" })
	auth := []string{"Authorization", "Bearer tok"}
	v := &validator{t: t, router: router, ts: ts, seen: map[string]bool{}}

	v.check("GET", "/health", "", 200)
	v.check("GET", "/metrics", "", 200)
	v.check("GET", "/api/openapi.yaml", "", 200)
	v.check("GET", "/api/ntp/history/clients", "", 200)
	v.check("GET", "/api/ntp/history/clients?page=2&page_size=5&sort_by=latency&sort_order=asc&cidr=10.0.0.0/8&seen_after=2026-11-25T11:00:00Z", "", 200)
	v.check("GET", "/api/ntp/history/clients?page=99", "", 200)
	v.check("GET", "/api/ntp/history/clients?page=0", "", 400)
	v.check("GET", "/api/ntp/history/clients/2001:db8::1", "", 200)
	v.check("GET", "/api/ntp/history/clients/192.0.2.2", "", 200)
	v.check("GET", "/api/ntp/history/clients/192.0.2.200", "", 404)
	v.check("GET", "/api/ntp/history/clients/x", "", 400)
	v.check("POST", "/api/ntp/history/search", `{"filters":{"has_kod":true}}`, 200)
	v.check("POST", "/api/ntp/history/search", `{"filters":{"bad":1}}`, 400)
	v.check("POST", "/api/ntp/history/export", `{"format":"json"}`, 200, auth...)
	v.check("POST", "/api/ntp/history/export", `{"format":"ndjson","limit":3}`, 200, auth...)
	v.check("POST", "/api/ntp/history/export", `{"format":"csv"}`, 200, auth...)
	v.check("POST", "/api/ntp/history/export", `{"format":"csv"}`, 401)
	v.check("POST", "/api/ntp/history/export", `{"format":"csv"}`, 403, "Authorization", "Bearer nope")
	v.check("POST", "/api/ntp/history/cleanup", `{"older_than_days":1,"dry_run":true}`, 200, auth...)
	v.check("POST", "/api/ntp/history/cleanup", `{}`, 400, auth...)
	v.check("GET", "/api/ntp/history/interfaces/statistics", "", 200)
	v.check("GET", "/api/ntp/history/service/statistics", "", 200)
	v.check("GET", "/api/ntp/history/health", "", 200)
	v.check("GET", "/api/ntp/history/timeseries?from=2026-11-25T11:00:00Z&to=2026-11-25T12:05:00Z&step=5m", "", 200)
	v.check("GET", "/api/ntp/history/timeseries?interface_name=eth0&interface_name=eth1&from=2026-11-25T12:00:00Z&to=2026-11-25T12:01:00Z", "", 200)
	v.check("GET", "/api/ntp/history/timeseries?step=90s", "", 400)
	v.check("GET", "/api/ntp/history/interfaces/statistics?from=2026-11-25T11:00:00Z&to=2026-11-25T12:30:00Z", "", 200)
	v.check("GET", "/api/ntp/history/service/statistics?from=2026-11-25T12:00:00Z", "", 200)
	v.check("GET", "/api/ntp/history/service/statistics?from=2026-11-25T12:00:00Z&to=2026-11-25T11:00:00Z", "", 400)
	v.check("GET", "/api/ntp/history/clients", "", 421, "Host", "evil.example")
	v.check("GET", "/metrics", "", 421, "Host", "evil.example:8000")
	v.check("POST", "/api/ntp/history/search", `{}`, 415, "Content-Type", "text/plain")
	v.check("POST", "/api/ntp/history/cleanup", `{"older_than_days":1}`, 415, append(auth, "Content-Type", "")...)
	v.check("POST", "/api/ntp/history/cleanup", `{"older_than_days":1}`, 403, append(auth, "Origin", "http://evil.example")...)

	// The stream's 200 never ends: stream_test.go reads it over HTTP.
	v.check("GET", "/api/ntp/stream?mode=8", "", 400)
	v.check("GET", "/api/ntp/stream", "", 503)

	v.check("GET", "/api/ntp/interfaces", "", 200)
	v.check("GET", "/api/ntp/interfaces/lo/status", "", 200)
	v.check("POST", "/api/ntp/interfaces/lo/stop", "", 404, auth...)
	v.check("POST", "/api/ntp/interfaces/nosuchif0/start", "", 404, auth...)
	v.check("POST", "/api/ntp/interfaces/eth0%3Brm/start", "", 400, auth...)
	v.check("POST", "/api/ntp/interfaces/"+strings.Repeat("x", 200)+"/start", "", 400, auth...)
	v.check("GET", "/api/ntp/interfaces/..x/status", "", 400)
	v.check("POST", "/api/ntp/interfaces/lo/start", `{"port":123,"timeout":2}`, 201, auth...)
	v.check("POST", "/api/ntp/interfaces/lo/start", `{}`, 409, auth...)
	v.check("POST", "/api/ntp/interfaces/lo/start", `{"port":70000}`, 400, auth...)
	time.Sleep(200 * time.Millisecond) // let /bin/false exit once
	v.check("GET", "/api/ntp/interfaces/lo/status", "", 200)
	v.check("POST", "/api/ntp/interfaces/lo/stop", "", 200, auth...)

	// Every operation was exercised at least once.
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !v.seen[method+" "+path] {
				t.Errorf("%s %s: no response validated", method, path)
			}
		}
	}
}
