package httpapi

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// startIngest runs a real ingestion server over st on a loopback port and
// returns it, its address, the metrics it feeds, and stop, which ends it
// (the test's end does too).
func startIngest(t *testing.T, st *store.Store, mods ...func(*ingest.Config)) (in *ingest.Server, addr string, m *Metrics, stop func()) {
	t.Helper()
	m = NewMetrics()
	ln, err := ingest.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := ingest.Config{Listener: ln, BatchSize: 50, BatchInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OnBatch: m.ObserveBatch, OnCommit: m.ObserveCommit}
	for _, mod := range mods {
		mod(&cfg)
	}
	in = ingest.New(cfg, st)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- in.Serve(ctx) }()
	stop = sync.OnceFunc(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("ingest serve: %v", err)
		}
	})
	t.Cleanup(stop)
	return in, ln.Addr().String(), m, stop
}

// TestCSVFormulasNeutralised: a reference ID and a KoD code of =1+1 (four
// bytes: any spoofed NTP packet can carry them) and an interface named
// @SUM(A1), arriving over the worker protocol, are exported to CSV as text
// a spreadsheet does not run; negative numbers stay numbers, and JSON
// keeps every value as it arrived.
func TestCSVFormulasNeutralised(t *testing.T) {
	st := openStore(t)
	in, addr, m, _ := startIngest(t, st)
	ts := newTestServer(t, st, func(c *Config) { c.Ingest = in; c.Metrics = m })
	const iface = "@SUM(A1)"
	w := dialWorker(t, addr, "w-csv", iface)
	sessions := []sessionT{
		sess("192.0.2.1", onIface(iface), at(time.Second), kod("=1+1")),
		sess("192.0.2.2", onIface(iface), at(2*time.Second), func(s *sessionT) { s.ReferenceID = "+1-2" }),
		sess("192.0.2.3", onIface(iface), at(3*time.Second), func(s *sessionT) { s.ReferenceID = "-1+1" }),
		sess("192.0.2.4", onIface(iface), at(4*time.Second), func(s *sessionT) { s.ReferenceID = "\tx=1" }),
		sess("192.0.2.5", onIface(iface), at(5*time.Second), func(s *sessionT) { s.ReferenceID = "\r=1" }),
		sess("192.0.2.6", onIface(iface), at(6*time.Second), latency(-0.25), func(s *sessionT) { s.ReferenceID = `=HYPERLINK("x")` }),
	}
	var buf []byte
	for i := range sessions {
		buf = wire.AppendSession(buf[:0], uint64(i+1), &sessions[i])
		w.send(buf)
	}
	w.waitAck(uint64(len(sessions)))

	r := ts.do("POST", "/api/ntp/history/export", `{"format":"csv"}`)
	wantStatus(t, r, http.StatusOK)
	raw := r.Body.String()
	recs, err := csv.NewReader(strings.NewReader(raw)).ReadAll()
	if err != nil || len(recs) != len(sessions)+1 {
		t.Fatalf("%d records, %v:\n%s", len(recs), err, raw)
	}
	col := func(name string) int { return slices.Index(recs[0], name) }
	byIP := map[string][]string{}
	for _, r := range recs[1:] {
		byIP[r[col("client_ip")]] = r
	}
	for ip, want := range map[string]map[string]string{
		"192.0.2.1": {"reference_id": "'=1+1", "last_kod_code": "'=1+1"},
		"192.0.2.2": {"reference_id": "'+1-2", "last_kod_code": ""},
		"192.0.2.3": {"reference_id": "'-1+1"},
		"192.0.2.4": {"reference_id": "'\tx=1"},
		"192.0.2.5": {"reference_id": "'\r=1"},
		"192.0.2.6": {"reference_id": `'=HYPERLINK("x")`, "client_to_server_latency_seconds": "-0.25"},
	} {
		r := byIP[ip]
		if r == nil {
			t.Fatalf("no row for %s", ip)
		}
		want["interface_name"] = "'" + iface
		want["precision"] = "-24" // a negative number, not text: never prefixed
		for k, v := range want {
			if got := r[col(k)]; got != v {
				t.Errorf("%s %s = %q, want %q", ip, k, got, v)
			}
		}
	}
	// No field of the raw file starts with a formula character.
	formula := regexp.MustCompile(`(^|,)"?[=+@]`)
	for _, line := range strings.Split(raw, "\r\n") {
		if formula.MatchString(line) {
			t.Errorf("a field starts with a formula character: %q", line)
		}
	}
	// JSON is data, not a spreadsheet: values as they came.
	r = ts.do("GET", "/api/ntp/history/clients/192.0.2.1", nil)
	if got := decode[struct {
		Data []map[string]any `json:"data"`
	}](t, r).Data[0]; got["last_kod_code"] != "=1+1" || got["interface_name"] != iface {
		t.Errorf("JSON row: last_kod_code %v, interface_name %v", got["last_kod_code"], got["interface_name"])
	}
}

// metricsSize scrapes /metrics and returns its size and the interface
// label values of the worker series.
func metricsSize(t *testing.T, ts *testServer) (int, []string) {
	t.Helper()
	r := ts.do("GET", "/metrics", nil)
	wantStatus(t, r, http.StatusOK)
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^ntp_worker_packets_total\{interface="([^"]*)"\}`).FindAllStringSubmatch(r.Body.String(), -1) {
		seen[m[1]] = true
	}
	var labels []string
	for l := range seen {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	return r.Body.Len(), labels
}

// TestMetricsBoundedOverWorkerRuns: 2,000 worker runs, each with its own
// random worker_id as every restart has, grew /metrics from 17 KB to
// 363 KB. Now the series are per interface, at most MaxInterfaceSeries of
// them and the rest folded: 104 runs on 104 interfaces fill the labels,
// and the 1,896 runs that follow on known interfaces add no series; every
// run's packets are counted once.
func TestMetricsBoundedOverWorkerRuns(t *testing.T) {
	st := openStore(t)
	in, addr, m, _ := startIngest(t, st)
	ts := newTestServer(t, st, func(c *Config) { c.Ingest = in; c.Metrics = m })
	empty, _ := metricsSize(t, ts)

	run := func(i int, iface string) {
		w := dialWorker(t, addr, fmt.Sprintf("run-%04d-%x", i, i*2654435761), iface)
		w.send(wire.AppendStats(nil, &wire.Stats{Time: base, Packets: 10, Answered: 4, Unanswered: 1}))
		w.conn.Close()
	}
	waitStats := func(n int) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := 0
			for _, w := range in.Snapshot().Workers {
				if !w.StatsAt.IsZero() {
					got++
				}
			}
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d workers' stats arrived", got, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// The real interfaces' workers first, then a crowd of others.
	for i := range 4 {
		run(i, fmt.Sprintf("eth%d", i))
		time.Sleep(2 * time.Millisecond) // connected in this order
	}
	for i := range 100 {
		run(4+i, fmt.Sprintf("spoof%03d", i))
	}
	waitStats(104)
	full, labels := metricsSize(t, ts)
	if len(labels) != MaxInterfaceSeries+1 || !slices.Contains(labels, OtherInterface) {
		t.Fatalf("%d interface labels, want %d with %q: %v", len(labels), MaxInterfaceSeries+1, OtherInterface, labels)
	}
	for i := range 4 {
		if !slices.Contains(labels, fmt.Sprintf("eth%d", i)) {
			t.Errorf("eth%d has no series of its own: %v", i, labels)
		}
	}
	for i := range 1896 {
		run(104+i, fmt.Sprintf("eth%d", i%4))
	}
	waitStats(2000)
	after, labels2 := metricsSize(t, ts)
	t.Logf("/metrics: %d bytes with no worker, %d after 104 runs on 104 interfaces, %d after 2,000 runs", empty, full, after)
	if !slices.Equal(labels, labels2) {
		t.Errorf("labels changed: %v → %v", labels, labels2)
	}
	// Only digits may grow: the counts went from hundreds to thousands.
	if after > full+2000 {
		t.Errorf("/metrics grew from %d to %d bytes over 1,896 more runs on known interfaces", full, after)
	}
	body := ts.do("GET", "/metrics", nil).Body.String()
	for i := range 4 {
		// 1 + 474 runs on each, 10 packets apiece.
		want := fmt.Sprintf(`ntp_worker_packets_total{interface="eth%d"} %d`, i, 10*(1+1896/4))
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	if want := fmt.Sprintf(`ntp_worker_packets_total{interface="%s"} %d`, OtherInterface, 10*(100-(MaxInterfaceSeries-4))); !strings.Contains(body, want+"\n") {
		t.Errorf("metrics lack %q", want)
	}
	if strings.Contains(body, "worker_id=") {
		t.Error("a series is still labelled by worker_id")
	}
}
