package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/dashboard"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/syncbuf"
)

// TestRequestLogLevels: the requests that scrapers, monitors and the page's
// static files make all day are logged at debug when they succeed; the
// rest, and every failure, at info or error.
func TestRequestLogLevels(t *testing.T) {
	page, err := dashboard.New()
	if err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st := openStore(t)
	ts := newTestServer(t, st, func(c *Config) { c.Logger, c.Page = log, page })
	tests := []struct {
		method, path string
		status       int
		level        string
	}{
		{"GET", "/metrics", http.StatusOK, "DEBUG"},
		{"GET", "/health", http.StatusOK, "DEBUG"},
		{"GET", "/api/openapi.yaml", http.StatusOK, "DEBUG"},
		{"GET", "/", http.StatusFound, "DEBUG"},
		{"GET", "/ui/", http.StatusOK, "DEBUG"},
		{"HEAD", "/ui/", http.StatusOK, "DEBUG"},
		{"GET", "/ui/no-such-file.js", http.StatusNotFound, "INFO"},
		{"GET", "/metrics?x=1", http.StatusOK, "DEBUG"}, // promhttp takes no parameters and ignores them
		{"GET", "/health?verbose=1", http.StatusBadRequest, "INFO"},
		{"GET", "/api/ntp/history/clients", http.StatusOK, "INFO"},
		{"GET", "/api/ntp/history/health", http.StatusOK, "INFO"},
		{"GET", "/healthz", http.StatusNotFound, "INFO"},
		{"GET", "/ui.js", http.StatusNotFound, "INFO"},
	}
	// since returns what was logged after mark.
	since := func(mark int) []byte { return []byte(logs.String()[mark:]) }
	for _, tc := range tests {
		mark := len(logs.String())
		r := ts.do(tc.method, tc.path, nil)
		if r.Code != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, r.Code, tc.status)
			continue
		}
		var rec struct {
			Level  string `json:"level"`
			Msg    string `json:"msg"`
			Status int    `json:"status"`
		}
		out := since(mark)
		line, _, _ := bytes.Cut(out, []byte("\n"))
		if err := json.Unmarshal(line, &rec); err != nil || rec.Msg != "http request" || rec.Status != tc.status {
			t.Errorf("%s %s: log %q (%v)", tc.method, tc.path, out, err)
			continue
		}
		if rec.Level != tc.level {
			t.Errorf("%s %s → %d logged at %s, want %s", tc.method, tc.path, tc.status, rec.Level, tc.level)
		}
	}
	// A failing health check is an error worth seeing.
	st.Close()
	mark := len(logs.String())
	r := ts.do("GET", "/health", nil)
	wantStatus(t, r, http.StatusServiceUnavailable)
	if out := since(mark); !bytes.Contains(out, []byte(`"level":"ERROR","msg":"http request"`)) {
		t.Errorf("an unhealthy /health (503) logged as %s", out)
	}
}
