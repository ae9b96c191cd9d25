//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testnet"
)

// collector is an ntp-collector process started by the test, with its API
// and ingestion ports on loopback and its files in a temp directory.
type collector struct {
	bin, workerBin string
	dir, db        string
	httpAddr       string
	ingestPort     int
	proc           *testnet.Proc
	net            *testnet.Net
	workerPIDs     map[int]bool
	ifaces         map[string]bool
	extra          []string // more serve flags
}

// maybeCollector starts bin/ntp-collector when both binaries exist, and
// returns nil (after saying so) when they do not, so that the network,
// traffic, server and tshark checks still run while the product is
// incomplete. NTP_E2E_REQUIRE_BINARIES=1 turns their absence into a failure.
// extra are more flags for serve.
func maybeCollector(t *testing.T, n *testnet.Net, extra ...string) *collector {
	t.Helper()
	root := repoRoot(t)
	c := &collector{
		bin:        filepath.Join(root, "bin", "ntp-collector"),
		workerBin:  filepath.Join(root, "bin", "ntp-worker"),
		net:        n,
		workerPIDs: map[int]bool{},
		ifaces:     map[string]bool{},
		extra:      extra,
	}
	for _, b := range []string{c.bin, c.workerBin} {
		if _, err := os.Stat(b); err != nil {
			if os.Getenv("NTP_E2E_REQUIRE_BINARIES") == "1" {
				t.Fatalf("%s missing: run make build", b)
			}
			t.Logf("NOTE: %s not built yet: collector and API checks skipped", b)
			return nil
		}
	}
	help, _ := exec.Command(c.bin, "serve", "--help").CombinedOutput()
	for _, flag := range []string{"--http-listen", "--worker-bin"} {
		if !strings.Contains(string(help), flag) {
			if os.Getenv("NTP_E2E_REQUIRE_BINARIES") == "1" {
				t.Fatalf("%s serve has no %s flag yet", c.bin, flag)
			}
			t.Logf("NOTE: %s serve has no %s flag yet: collector and API checks skipped", c.bin, flag)
			return nil
		}
	}
	c.dir = t.TempDir()
	c.db = filepath.Join(c.dir, "ntp_clients.db")
	c.httpAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	c.ingestPort = freePort(t)
	t.Cleanup(c.killWorkers)
	c.start(t)
	return c
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs `ntp-collector serve` and waits until /health answers.
func (c *collector) start(t *testing.T) {
	t.Helper()
	args := []string{"serve",
		"--db", c.db,
		"--http-listen", c.httpAddr,
		"--ingestion-host", "127.0.0.1",
		"--ingestion-port", fmt.Sprint(c.ingestPort),
		"--worker-bin", c.workerBin,
		"--batch-interval", "500ms",
		"--log-level", "debug",
	}
	args = append(args, c.extra...)
	help, _ := exec.Command(c.bin, "serve", "--help").CombinedOutput()
	for _, opt := range [][2]string{{"--pid-dir", "run"}, {"--log-dir", "log"}} {
		if strings.Contains(string(help), opt[0]) {
			args = append(args, opt[0], filepath.Join(c.dir, opt[1]))
		}
	}
	cmd := exec.Command(c.bin, args...)
	logf, err := os.OpenFile(filepath.Join(c.dir, "collector.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	cmd.Stdout, cmd.Stderr = logf, logf
	c.proc = c.net.StartCmd(t, cmd)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + c.httpAddr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return
			}
		}
		select {
		case <-c.proc.Done():
			t.Fatalf("ntp-collector exited: %v\n%s", c.proc.Err(), c.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ntp-collector not answering on %s: %v\n%s", c.httpAddr, err, c.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// crash kills the collector with SIGKILL — only its own PID, so its
// workers live on — and waits for it to be gone.
func (c *collector) crash(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(c.proc.Cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.proc.Done()
}

func (c *collector) log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "collector.log"))
	const max = 8000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// workerLogLines returns the lines of the workers' logs (in the
// collector's --log-dir) that contain substr.
func (c *collector) workerLogLines(substr string) string {
	var out []string
	files, _ := filepath.Glob(filepath.Join(c.dir, "log", "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, substr) {
				out = append(out, filepath.Base(f)+": "+l)
			}
		}
	}
	return strings.Join(out, "\n")
}

// killWorkers ends workers the collector started for this test that are
// still alive after it (a collector killed with SIGKILL leaves them).
func (c *collector) killWorkers() {
	for pid := range c.workerPIDs {
		if syscall.Kill(pid, 0) == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// api sends a request and decodes a JSON answer into out (when non-nil),
// returning the status.
func (c *collector) api(ctx context.Context, method, path string, body, out any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+c.httpAddr+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil || method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	// The admin token the collector generated at its first start, beside
	// its database, as an operator on the host reads it.
	if tok, err := os.ReadFile(filepath.Join(c.dir, "api-token")); err == nil {
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, raw, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, raw, fmt.Errorf("%s %s: decode %s: %w", method, path, raw, err)
		}
	}
	return resp.StatusCode, raw, nil
}

type ifaceStatus struct {
	PID   int    `json:"pid"`
	State string `json:"state"`
}

// startWorker starts a worker on iface through the API and waits until it
// runs and is connected to the ingestion port.
func (c *collector) startWorker(ctx context.Context, t *testing.T, iface string) {
	t.Helper()
	c.ifaces[iface] = true
	st, raw, err := c.api(ctx, "POST", "/api/ntp/interfaces/"+iface+"/start", map[string]any{"port": 123, "timeout": 2.0}, nil)
	if err != nil || st != http.StatusCreated {
		t.Fatalf("POST /api/ntp/interfaces/%s/start: %d %s %v\n%s", iface, st, raw, err, c.log())
	}
	c.waitWorker(ctx, t, iface)
}

// waitWorker waits until the worker on iface is running and the collector
// counts a connected worker, then gives libpcap a moment to open its ring.
func (c *collector) waitWorker(ctx context.Context, t *testing.T, iface string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var s ifaceStatus
		st, raw, err := c.api(ctx, "GET", "/api/ntp/interfaces/"+iface+"/status", nil, &s)
		if err == nil && st == http.StatusOK && s.PID > 0 {
			c.workerPIDs[s.PID] = true
		}
		if err == nil && st == http.StatusOK && s.State == "running" && c.connectedWorkers(ctx) > 0 {
			time.Sleep(500 * time.Millisecond)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker on %s not running and connected: %d %s %v\ncollector log:\n%s", iface, st, raw, err, c.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// workerPID returns the pid of the worker the API reports for the first
// interface it was asked about, or 0.
func (c *collector) workerPID(ctx context.Context) int {
	for iface := range c.ifaces {
		var s ifaceStatus
		if st, _, err := c.api(ctx, "GET", "/api/ntp/interfaces/"+iface+"/status", nil, &s); err == nil && st == http.StatusOK {
			return s.PID
		}
	}
	return 0
}

func (c *collector) connectedWorkers(ctx context.Context) int {
	var v map[string]any
	if st, _, err := c.api(ctx, "GET", "/api/ntp/history/service/statistics", nil, &v); err != nil || st != http.StatusOK {
		return 0
	}
	n := 0
	for _, k := range []string{"connected_workers"} {
		n += int(findNumber(v, k))
	}
	return n
}

// findNumber finds a numeric key anywhere in a decoded JSON document.
func findNumber(v any, key string) float64 {
	switch x := v.(type) {
	case map[string]any:
		if f, ok := x[key].(float64); ok {
			return f
		}
		for _, e := range x {
			if f := findNumber(e, key); f != 0 {
				return f
			}
		}
	case []any:
		for _, e := range x {
			if f := findNumber(e, key); f != 0 {
				return f
			}
		}
	}
	return 0
}

// stopWorker stops the worker on iface through the API (it flushes what
// it holds and waits for acks) and waits until it is gone.
func (c *collector) stopWorker(ctx context.Context, t *testing.T, iface string) {
	t.Helper()
	st, raw, err := c.api(ctx, "POST", "/api/ntp/interfaces/"+iface+"/stop", nil, nil)
	if err != nil || st >= 300 {
		t.Fatalf("POST /api/ntp/interfaces/%s/stop: %d %s %v\n%s", iface, st, raw, err, c.log())
	}
	deadline := time.Now().Add(20 * time.Second)
	for pid := range c.workerPIDs {
		for syscall.Kill(pid, 0) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("worker %d still running 20 s after stop", pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// One more batch interval so the last acknowledged batch is visible.
	time.Sleep(time.Second)
}

// clientRow is the part of a client row the test compares.
type clientRow map[string]any

func (r clientRow) num(k string) (float64, bool) {
	f, ok := r[k].(float64)
	return f, ok
}

func (r clientRow) str(k string) string {
	s, _ := r[k].(string)
	return s
}

// clientRows fetches the rows of one client address.
func (c *collector) clientRows(ctx context.Context, a netip.Addr) ([]clientRow, int, error) {
	var v struct {
		Data []clientRow `json:"data"`
	}
	st, raw, err := c.api(ctx, "GET", "/api/ntp/history/clients/"+a.String(), nil, &v)
	if err != nil {
		return nil, st, err
	}
	if st == http.StatusNotFound {
		return nil, st, nil
	}
	if st != http.StatusOK {
		return nil, st, fmt.Errorf("GET clients/%v: %d %s", a, st, raw)
	}
	if v.Data == nil {
		// Accept a bare list or a single object as well.
		var list []clientRow
		if json.Unmarshal(raw, &list) == nil && list != nil {
			return list, st, nil
		}
		var one clientRow
		if json.Unmarshal(raw, &one) == nil && one != nil {
			return []clientRow{one}, st, nil
		}
	}
	return v.Data, st, nil
}

// apiCounts reads every client the wire saw through the API and returns
// the counts in the ledger's shape, plus each client's row.
func (c *collector) apiCounts(ctx context.Context, t *testing.T, iface string, addrs []netip.Addr) (map[netip.Addr]*counts, map[netip.Addr]clientRow) {
	t.Helper()
	out := map[netip.Addr]*counts{}
	rows := map[netip.Addr]clientRow{}
	for _, a := range addrs {
		list, st, err := c.clientRows(ctx, a)
		if err != nil {
			t.Errorf("API client %v: %v", a, err)
			continue
		}
		if st == http.StatusNotFound {
			continue
		}
		for _, r := range list {
			if r.str("interface_name") != iface {
				continue
			}
			n := func(k string) int { f, _ := r.num(k); return int(f) }
			cc := &counts{
				Requests:   n("session_count"),
				Answered:   n("answered_count"),
				Unanswered: n("unanswered_count"),
				KoD:        n("kod_count"),
				KoDCode:    r.str("last_kod_code"),
				Mode6:      n("mode6_count"),
				Versions:   map[int]int{},
			}
			out[a] = cc
			rows[a] = r
		}
	}
	return out, rows
}

// compare checks the API's view of every client against the wire: counts,
// then the last packet's fields against tshark's decoding of the same
// packets.
func (c *collector) compare(ctx context.Context, t *testing.T, m *mismatches, s *scenario, w *fromWire) {
	t.Helper()
	var addrs []netip.Addr
	for a := range w.counts {
		addrs = append(addrs, a)
	}
	got, rows := c.apiCounts(ctx, t, s.net.Bridge, addrs)
	// The store keeps the last version seen, not a histogram; compare
	// versions through the last packet below. Truncated payloads are not
	// sessions: they show up as the worker's decode errors.
	want := map[netip.Addr]*counts{}
	for a, wc := range w.counts {
		cc := *wc
		cc.Truncated = 0
		if cc.Requests == 0 && cc.Mode6 == 0 {
			continue // only malformed packets: no row
		}
		want[a] = &cc
	}
	compareCounts(m, "api", "tshark", got, want, "requests", "answered", "unanswered", "kod", "kod_code", "mode6")
	for a, r := range rows {
		compareLast(m, a, r, w.last[a])
	}
	c.compareInterface(ctx, t, m, s.net.Bridge, want, w)
	c.compareSeries(ctx, t, m, s.net.Bridge, w)
	truncated := 0
	for _, wc := range w.counts {
		truncated += wc.Truncated
	}
	var stats map[string]any
	if st, raw, err := c.api(ctx, "GET", "/api/ntp/history/service/statistics", nil, &stats); err != nil || st != http.StatusOK {
		t.Errorf("service statistics: %d %s %v", st, raw, err)
	} else {
		// The worker counts as decode errors the payloads too short
		// for NTP. Frames its capture cut short (longer than the
		// snaplen, such as ntpd's mode 6 answers) still carry a whole
		// NTP header and are not errors.
		de := int(findNumber(stats, "decode_errors"))
		m.check(de == truncated, fmt.Sprintf("worker decode errors (%d truncated payloads)", truncated),
			de, truncated, "api", "tshark")
		if de != truncated {
			t.Logf("the workers' decode error lines:\n%s", c.workerLogLines("did not decode"))
		}
	}
}

// compareInterface checks the interface statistics endpoint against the
// wire's totals over the clients that have a row.
func (c *collector) compareInterface(ctx context.Context, t *testing.T, m *mismatches, iface string, want map[netip.Addr]*counts, w *fromWire) {
	t.Helper()
	var v struct {
		Data []struct {
			Name       string         `json:"interface_name"`
			Clients    int            `json:"clients"`
			Sessions   int            `json:"sessions"`
			Answered   int            `json:"answered"`
			Unanswered int            `json:"unanswered"`
			KoD        int            `json:"kod"`
			WithKoD    int            `json:"clients_with_kod"`
			OtherModes map[string]int `json:"other_mode_packets"`
			Versions   map[string]int `json:"ntp_versions"`
		} `json:"data"`
	}
	st, raw, err := c.api(ctx, "GET", "/api/ntp/history/interfaces/statistics", nil, &v)
	if err != nil || st != http.StatusOK {
		t.Errorf("interface statistics: %d %s %v", st, raw, err)
		return
	}
	var tot counts
	withKoD := 0
	versions := map[string]int{}
	for a, cc := range want {
		tot.Requests += cc.Requests
		tot.Answered += cc.Answered
		tot.Unanswered += cc.Unanswered
		tot.KoD += cc.KoD
		tot.Mode6 += cc.Mode6
		if cc.KoD > 0 {
			withKoD++
		}
		versions[fmt.Sprint(w.last[a].req.VN)]++
	}
	for _, d := range v.Data {
		if d.Name != iface {
			continue
		}
		what := func(f string) string { return "interface " + iface + " " + f }
		m.check(d.Clients == len(want), what("clients"), d.Clients, len(want), "api", "tshark")
		m.check(d.Sessions == tot.Requests, what("sessions"), d.Sessions, tot.Requests, "api", "tshark")
		m.check(d.Answered == tot.Answered, what("answered"), d.Answered, tot.Answered, "api", "tshark")
		m.check(d.Unanswered == tot.Unanswered, what("unanswered"), d.Unanswered, tot.Unanswered, "api", "tshark")
		m.check(d.KoD == tot.KoD, what("kod"), d.KoD, tot.KoD, "api", "tshark")
		m.check(d.WithKoD == withKoD, what("clients_with_kod"), d.WithKoD, withKoD, "api", "tshark")
		m.check(d.OtherModes["6"] == tot.Mode6, what("mode 6 packets"), d.OtherModes["6"], tot.Mode6, "api", "tshark")
		gotV := map[string]int{}
		for k, n := range d.Versions {
			if n != 0 {
				gotV[k] = n
			}
		}
		m.check(fmt.Sprint(gotV) == fmt.Sprint(versions), what("clients by last NTP version"), gotV, versions, "api", "tshark")
		return
	}
	m.check(false, "interface "+iface+" in interface statistics", "absent", "present", "api", "tshark")
}

// compareLast checks the row's "last packet" columns against tshark's
// decoding of that client's last packet to the server port and its answer.
func compareLast(m *mismatches, a netip.Addr, r clientRow, e exchangeSeen) {
	m.t.Helper()
	what := func(f string) string { return fmt.Sprintf("client %v %s", a, f) }
	eqNum := func(f string, want float64, tol float64) {
		m.t.Helper()
		got, ok := r.num(f)
		m.check(ok && near(got, want, tol), what(f), r[f], want, "api", "tshark")
	}
	isNull := func(f string) {
		m.t.Helper()
		m.check(r[f] == nil, what(f), r[f], nil, "api", "tshark")
	}
	q := e.req
	m.check(r.str("server_ip") == q.Dst.String(), what("server_ip"), r.str("server_ip"), q.Dst, "api", "tshark")
	eqNum("client_port", float64(q.SrcPort), 0)
	eqNum("server_port", float64(q.DstPort), 0)
	eqNum("ntp_version", float64(q.VN), 0)
	eqNum("mode", float64(q.Mode), 0)
	if q.Mode != 6 {
		eqNum("poll_interval", float64(q.Poll), 0)
	}
	eqNum("packet_length", float64(q.PayloadLen), 0)
	p := e.resp
	if p == nil {
		for _, f := range []string{"stratum", "reference_id", "receive_timestamp", "transmit_timestamp", "server_processing_time_seconds", "total_process_time_seconds"} {
			isNull(f)
		}
		return
	}
	eqNum("stratum", float64(p.Stratum), 0)
	eqNum("precision", float64(p.Precision), 0)
	eqNum("root_delay", p.RootDelay, 1e-6)
	eqNum("root_dispersion", p.RootDisp, 1e-6)
	m.check(r.str("reference_id") == refID(p), what("reference_id"), r.str("reference_id"), refID(p), "api", "tshark")
	m.check(r.str("leap_indicator") == leapName(p.LI), what("leap_indicator"), r.str("leap_indicator"), leapName(p.LI), "api", "tshark")
	for _, ts := range []struct {
		f string
		v float64
	}{{"reference_timestamp", p.Ref}, {"originate_timestamp", p.Org}, {"receive_timestamp", p.Rec}, {"transmit_timestamp", p.Xmt}} {
		if ts.v == 0 {
			isNull(ts.f)
		} else {
			eqNum(ts.f, ts.v, 1e-6)
		}
	}
	eqNum("server_processing_time_seconds", p.Xmt-p.Rec, 1e-6)
	// Capture times come from two different capture sockets (the
	// worker's and tcpdump's): allow them a millisecond.
	eqNum("total_process_time_seconds", p.Time-q.Time, 1e-3)
}

// refID renders a reference ID the way the store does: ASCII for stratum
// 0 and 1, a dotted quad otherwise.
func refID(p *pkt) string {
	b := p.RefIDRaw
	if len(b) != 4 {
		return p.RefID
	}
	if p.Stratum <= 1 {
		return string(bytes.TrimRight(b, "\x00"))
	}
	return netip.AddrFrom4([4]byte(b)).String()
}

func leapName(li int) string {
	return [...]string{"no_warning", "add_second", "del_second", "unsynchronized"}[li&3]
}
