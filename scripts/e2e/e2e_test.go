//go:build e2e

// Package e2e is the end-to-end test of ntp-monitor: real NTP servers and
// clients in network namespaces, the worker started through the collector's
// REST API capturing on the bridge between them, and every count and field
// the API reports compared with what the test sent, with the server's own
// view (chronyc clients, ntpq mrulist) and with tshark's dissection of a
// tcpdump capture of the same traffic. Run it with scripts/e2e.sh (root).
package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testnet"
)

// mismatches collects every disagreement so that all of them are printed,
// each with both sides.
type mismatches struct {
	t      *testing.T
	count  int
	checks map[string]int // comparisons made, per pair of views
}

func (m *mismatches) check(ok bool, what string, a, b any, an, bn string) {
	m.t.Helper()
	if m.checks == nil {
		m.checks = map[string]int{}
	}
	m.checks[an+" vs "+bn]++
	if ok {
		return
	}
	m.count++
	m.t.Errorf("MISMATCH %s:\n    %-8s %v\n    %-8s %v", what, an+":", a, bn+":", b)
}

// compareCounts compares two per-client views; fields lists which to
// compare (a view may not know every field).
func compareCounts(m *mismatches, an, bn string, a, b map[netip.Addr]*counts, fields ...string) {
	m.t.Helper()
	addrs := map[netip.Addr]bool{}
	for k := range a {
		addrs[k] = true
	}
	for k := range b {
		addrs[k] = true
	}
	zero := &counts{Versions: map[int]int{}}
	for _, addr := range slices.SortedFunc(maps.Keys(addrs), func(x, y netip.Addr) int { return x.Compare(y) }) {
		ca, cb := a[addr], b[addr]
		if ca == nil {
			ca = zero
		}
		if cb == nil {
			cb = zero
		}
		for _, f := range fields {
			var va, vb any
			switch f {
			case "requests":
				va, vb = ca.Requests, cb.Requests
			case "answered":
				va, vb = ca.Answered, cb.Answered
			case "unanswered":
				va, vb = ca.Unanswered, cb.Unanswered
			case "kod":
				va, vb = ca.KoD, cb.KoD
			case "kod_code":
				va, vb = ca.KoDCode, cb.KoDCode
			case "versions":
				va, vb = fmt.Sprint(ca.Versions), fmt.Sprint(cb.Versions)
			case "mode6":
				va, vb = ca.Mode6, cb.Mode6
			case "truncated":
				va, vb = ca.Truncated, cb.Truncated
			default:
				panic(f)
			}
			m.check(va == vb, fmt.Sprintf("client %v %s", addr, f), va, vb, an, bn)
		}
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

func TestEndToEnd(t *testing.T) {
	testnet.Require(t)
	for _, kind := range []string{"chrony", "ntpsec"} {
		t.Run(kind, func(t *testing.T) { runScenario(t, kind) })
	}
}

func runScenario(t *testing.T, kind string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := newScenario(t, kind)
	m := &mismatches{t: t}
	// NTP_E2E_KEEP=dir keeps the captures for a look with tshark.
	dir := os.Getenv("NTP_E2E_KEEP")
	if dir == "" {
		dir = t.TempDir()
	}
	pcap := filepath.Join(dir, kind+".pcap")
	stopCapture := startCapture(t, s.net, pcap)

	var chrony *testnet.Chronyd
	var ntpd *testnet.Ntpd
	switch kind {
	case "chrony":
		// Lenient enough for the clients that send a few requests,
		// strict enough that a burst loses answers.
		chrony = s.srv.StartChronyd(t, testnet.ChronyOptions{RateLimit: "interval -4 burst 4 leak 2"})
	case "ntpsec":
		ntpd = s.srv.StartNtpsec(t, testnet.NtpsecOptions{KoD: true})
	}

	col := maybeCollector(t, s.net)
	if col != nil {
		col.startWorker(ctx, t, s.net.Bridge)
	}

	l := newLedger()
	s.generate(ctx, t, l)
	sent := l.snapshot()

	if col != nil {
		// Let unanswered requests time out in the worker (--timeout 2 s)
		// and the last batch commit before stopping the worker.
		time.Sleep(3 * time.Second)
		col.stopWorker(ctx, t, s.net.Bridge)
	}
	stopCapture()

	pkts, err := dissect(ctx, pcap)
	if err != nil {
		t.Fatal(err)
	}
	wire := tally(pkts, 123)
	t.Logf("%s: %d packets captured on %s", kind, len(pkts), s.net.Bridge)
	for _, a := range slices.SortedFunc(maps.Keys(wire.counts), func(x, y netip.Addr) int { return x.Compare(y) }) {
		t.Logf("  tshark %-18v %v", a, wire.counts[a])
	}

	// 1. What was sent against what went over the wire.
	compareCounts(m, "sent", "tshark", sent, wire.counts,
		"requests", "answered", "unanswered", "kod", "kod_code", "versions", "mode6", "truncated")

	// 2. The wire against the server's own view.
	switch kind {
	case "chrony":
		compareChrony(ctx, t, m, chrony, s, wire)
	case "ntpsec":
		compareNtpsec(ctx, t, m, ntpd, s, wire)
	}

	// 3. The collector's view through the API against the wire.
	if col != nil {
		col.compare(ctx, t, m, s, wire)
	}
	m.summary(kind)
}

// summary logs how many comparisons each pair of views went through and
// fails the test when any disagreed.
func (m *mismatches) summary(name string) {
	m.t.Helper()
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m.checks)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m.checks[k]))
	}
	m.t.Logf("%s: comparisons made: %s", name, strings.Join(parts, ", "))
	if m.count > 0 {
		m.t.Errorf("%s: %d mismatches", name, m.count)
	}
}

// compareChrony checks chronyc clients against the wire: chronyd counts
// every well-formed request it received on its own address (NTPPackets)
// and those it dropped for rate limiting (NTPDrops).
func compareChrony(ctx context.Context, t *testing.T, m *mismatches, c *testnet.Chronyd, s *scenario, w *fromWire) {
	t.Helper()
	clients, err := c.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[netip.Addr]bool{}
	for _, cl := range clients {
		seen[cl.Addr] = true
		toServer := w.requestsTo[[2]netip.Addr{cl.Addr, s.srv.V4}] + w.requestsTo[[2]netip.Addr{cl.Addr, s.srv.V6}]
		m.check(int(cl.NTPPackets) == toServer, fmt.Sprintf("client %v requests received by the server", cl.Addr),
			cl.NTPPackets, toServer, "chronyc", "tshark")
		unanswered := 0
		if wc := w.counts[cl.Addr]; wc != nil {
			unanswered = wc.Unanswered
		}
		m.check(int(cl.NTPDrops) == unanswered, fmt.Sprintf("client %v requests dropped (rate limit)", cl.Addr),
			cl.NTPDrops, unanswered, "chronyc", "tshark")
	}
	for k, n := range w.requestsTo {
		if (k[1] == s.srv.V4 || k[1] == s.srv.V6) && !seen[k[0]] {
			m.check(false, fmt.Sprintf("client %v missing from chronyc clients", k[0]), "absent", n, "chronyc", "tshark")
		}
	}
}

// compareNtpsec checks ntpq's MRU list against the wire: per client
// address the packets ntpd received on its address (any mode) and the
// mode and version of the last one.
func compareNtpsec(ctx context.Context, t *testing.T, m *mismatches, d *testnet.Ntpd, s *scenario, w *fromWire) {
	t.Helper()
	mru, err := d.MRUList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type agg struct{ count, drop int }
	got := map[netip.Addr]*agg{}
	for _, e := range mru {
		a := got[e.Addr.Addr()]
		if a == nil {
			a = &agg{}
			got[e.Addr.Addr()] = a
		}
		a.count += e.Count
		a.drop += e.Drop
	}
	// ntpd counts every packet that reaches it, truncated ones too; its
	// drops are the rate-limited requests, answered with a KoD or not at
	// all.
	want := map[netip.Addr]int{}
	for a, c := range w.counts {
		n := w.requestsTo[[2]netip.Addr{a, s.srv.V4}] + w.requestsTo[[2]netip.Addr{a, s.srv.V6}]
		n += c.Mode6 + c.Truncated
		if n > 0 {
			want[a] = n
		}
		if g := got[a]; g != nil {
			m.check(g.drop == c.KoD+c.Unanswered, fmt.Sprintf("client %v rate-limited requests", a), g.drop, c.KoD+c.Unanswered, "mrulist", "tshark")
		}
	}
	for _, a := range slices.SortedFunc(maps.Keys(want), func(x, y netip.Addr) int { return x.Compare(y) }) {
		g := 0
		if got[a] != nil {
			g = got[a].count
		}
		m.check(g == want[a], fmt.Sprintf("client %v packets received by the server", a), g, want[a], "mrulist", "tshark")
	}
	for a, g := range got {
		if _, ok := want[a]; !ok {
			m.check(false, fmt.Sprintf("client %v in mrulist only", a), g.count, 0, "mrulist", "tshark")
		}
	}
	var lines []string
	for _, e := range mru {
		lines = append(lines, fmt.Sprintf("%+v", e))
	}
	t.Logf("ntpq mrulist:\n  %s", strings.Join(lines, "\n  "))
}
