package httpapi

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// /metrics gives distinct clients per interface over 5 min, 1 h and 24 h
// from the series: a client seen twice in the hour counts once.
func TestMetricsDistinctClients(t *testing.T) {
	st := openStore(t)
	now := time.Now()
	ago := func(d time.Duration) sessOpt { return func(s *sessionT) { s.Timestamp = now.Add(-d) } }
	commit(t, st,
		sess("192.0.2.1", ago(2*time.Minute)),
		sess("192.0.2.2", ago(30*time.Minute)), sess("192.0.2.2", ago(32*time.Minute)),
		sess("192.0.2.3", ago(3*time.Hour)),
		sess("192.0.2.9", ago(2*time.Minute), onIface("eth1")),
		sess("192.0.2.9", ago(time.Minute), onIface("eth1"), kod("RATE")),
		sess("192.0.2.8", ago(time.Minute), onIface("eth1"), kod("RATE")),
		sess("192.0.2.7", ago(time.Hour), onIface("eth1"), kod("DENY")))
	m := NewMetrics()
	ts := newTestServer(t, st, func(c *Config) { c.Metrics = m })
	r := ts.do("GET", "/metrics", nil)
	wantStatus(t, r, http.StatusOK)
	body := r.Body.String()
	for _, want := range []string{
		`ntp_series_distinct_clients{interface="eth0",window="5m"} 1`,
		`ntp_series_distinct_clients{interface="eth0",window="1h"} 2`,
		`ntp_series_distinct_clients{interface="eth0",window="24h"} 3`,
		`ntp_series_distinct_clients{interface="eth1",window="24h"} 3`,
		`ntp_series_kod_answers_5m{code="RATE",interface="eth1"} 2`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `code="DENY"`) {
		t.Errorf("/metrics counts a KoD of an hour ago in the last 5 minutes")
	}
}
