package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestFirstSeenWindow selects the clients that appeared in a window, by
// their first session, not their latest: 192.0.2.1 polls again after the
// window opens and is still old.
func TestFirstSeenWindow(t *testing.T) {
	st := openStore(t)
	commit(t, st,
		sess("192.0.2.1", at(0)), sess("192.0.2.1", at(20*time.Minute)),
		sess("192.0.2.2", at(10*time.Minute)),
		sess("192.0.2.3", at(20*time.Minute)))
	ts := newTestServer(t, st, nil)
	rfc := func(d time.Duration) string { return base.Add(d).Format(time.RFC3339) }
	tests := []struct {
		query string
		want  []string
	}{
		{"first_seen_after=" + rfc(5*time.Minute), []string{"192.0.2.2@eth0", "192.0.2.3@eth0"}},
		{"first_seen_after=" + rfc(5*time.Minute) + "&first_seen_before=" + rfc(15*time.Minute), []string{"192.0.2.2@eth0"}},
		{"first_seen_before=" + rfc(time.Minute), []string{"192.0.2.1@eth0"}},
		// seen_after alone keeps the old client that polled again.
		{"seen_after=" + rfc(15*time.Minute), []string{"192.0.2.1@eth0", "192.0.2.3@eth0"}},
	}
	for _, tc := range tests {
		r := ts.do("GET", "/api/ntp/history/clients?sort_by=client_ip&sort_order=asc&"+strings.ReplaceAll(tc.query, "+", url.QueryEscape("+")), nil)
		wantStatus(t, r, http.StatusOK)
		if got := ips(decode[listBody](t, r).Data); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	r := ts.do("POST", "/api/ntp/history/search", map[string]any{
		"filters": map[string]any{"first_seen_after": rfc(5 * time.Minute), "first_seen_before": rfc(15 * time.Minute)}})
	wantStatus(t, r, http.StatusOK)
	if got := ips(decode[listBody](t, r).Data); !slices.Equal(got, []string{"192.0.2.2@eth0"}) {
		t.Errorf("search: %v", got)
	}

	r = ts.do("GET", "/api/ntp/history/clients?first_seen_after="+rfc(time.Hour)+"&first_seen_before="+rfc(0), nil)
	wantStatus(t, r, http.StatusBadRequest)
	if !strings.Contains(r.Body.String(), `"field":"first_seen_before"`) {
		t.Errorf("an empty window: %s", r.Body.String())
	}
	r = ts.do("POST", "/api/ntp/history/search", map[string]any{"filters": map[string]any{"first_seen_after": "yesterday"}})
	wantStatus(t, r, http.StatusBadRequest)
	if !strings.Contains(r.Body.String(), `"field":"filters.first_seen_after"`) {
		t.Errorf("a bad time in a body: %s", r.Body.String())
	}
}
