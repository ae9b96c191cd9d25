package httpapi

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// TestUnansweredAfter selects the clients that went unanswered in a window
// by their latest unanswered request, not their latest packet: 192.0.2.1
// was answered after its last unanswered request and still counts, and
// 192.0.2.4 was never unanswered. The field itself shows in the JSON and
// CSV rows, null for a client never unanswered.
func TestUnansweredAfter(t *testing.T) {
	st := openStore(t)
	commit(t, st,
		sess("192.0.2.1", at(0), unanswered()), sess("192.0.2.1", at(20*time.Minute), unanswered()),
		sess("192.0.2.1", at(30*time.Minute)),
		sess("192.0.2.2", at(10*time.Minute), unanswered()),
		sess("192.0.2.3", at(25*time.Minute), unanswered()),
		sess("192.0.2.4", at(40*time.Minute)))
	ts := newTestServer(t, st, nil)
	rfc := func(d time.Duration) string { return url.QueryEscape(base.Add(d).Format(time.RFC3339)) }
	tests := []struct {
		after time.Duration
		want  []string
	}{
		{0, []string{"192.0.2.1@eth0", "192.0.2.2@eth0", "192.0.2.3@eth0"}},
		{15 * time.Minute, []string{"192.0.2.1@eth0", "192.0.2.3@eth0"}},
		{21 * time.Minute, []string{"192.0.2.3@eth0"}},
		{26 * time.Minute, nil},
	}
	for _, tc := range tests {
		r := ts.do("GET", "/api/ntp/history/clients?sort_by=client_ip&sort_order=asc&unanswered_after="+rfc(tc.after), nil)
		wantStatus(t, r, http.StatusOK)
		if got := ips(decode[listBody](t, r).Data); !slices.Equal(got, tc.want) {
			t.Errorf("unanswered_after +%v: %v, want %v", tc.after, got, tc.want)
		}
		r = ts.do("POST", "/api/ntp/history/search", map[string]any{
			"sort":    map[string]any{"by": "client_ip", "order": "asc"},
			"filters": map[string]any{"unanswered_after": base.Add(tc.after).Format(time.RFC3339)}})
		wantStatus(t, r, http.StatusOK)
		if got := ips(decode[listBody](t, r).Data); !slices.Equal(got, tc.want) {
			t.Errorf("search unanswered_after +%v: %v, want %v", tc.after, got, tc.want)
		}
	}

	r := ts.do("POST", "/api/ntp/history/export", map[string]any{"format": "csv",
		"filters": map[string]any{"client_ips": []string{"192.0.2.1", "192.0.2.4"}}})
	wantStatus(t, r, http.StatusOK)
	recs, err := csv.NewReader(strings.NewReader(r.Body.String())).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("csv: %d records, %v", len(recs), err)
	}
	col := slices.Index(recs[0], "last_unanswered_timestamp")
	if col < 0 {
		t.Fatalf("csv header without last_unanswered_timestamp: %v", recs[0])
	}
	byIP := map[string]string{}
	for _, rec := range recs[1:] {
		byIP[rec[slices.Index(recs[0], "client_ip")]] = rec[col]
	}
	if want := base.Add(20 * time.Minute).Format(session.TimeLayout); byIP["192.0.2.1"] != want || byIP["192.0.2.4"] != "" {
		t.Errorf("csv last_unanswered_timestamp: %v, want 192.0.2.1 %s and 192.0.2.4 empty", byIP, want)
	}

	for _, tc := range []struct {
		method, path string
		body         any
		field        string
	}{
		{"GET", "/api/ntp/history/clients?unanswered_after=an+hour+ago", nil, "unanswered_after"},
		{"POST", "/api/ntp/history/search", map[string]any{"filters": map[string]any{"unanswered_after": "yesterday"}}, "filters.unanswered_after"},
		{"POST", "/api/ntp/history/export", map[string]any{"format": "ndjson", "filters": map[string]any{"unanswered_after": 3600}}, "filters.unanswered_after"},
	} {
		r := ts.do(tc.method, tc.path, tc.body)
		wantStatus(t, r, http.StatusBadRequest)
		if !strings.Contains(r.Body.String(), `"field":"`+tc.field+`"`) {
			t.Errorf("%s %s: %s, want the field %s named", tc.method, tc.path, r.Body.String(), tc.field)
		}
	}
}
