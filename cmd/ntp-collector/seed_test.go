package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testnet"
)

// seedExample is one request of testdata/seed_examples.txt, a verbatim
// copy of the seed's API examples (DESIGN.md, "The seed's API examples"):
// a method, a path, and a JSON body or, in parentheses, fields the answer
// has.
type seedExample struct {
	line         string
	method, path string
	body         string
	fields       []string
}

func readSeedExamples(t *testing.T) []seedExample {
	t.Helper()
	raw, err := os.ReadFile("testdata/seed_examples.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []seedExample
	for line := range strings.Lines(string(raw)) {
		line = strings.TrimRight(line, "\n")
		f := strings.Fields(line)
		if len(f) < 2 {
			t.Fatalf("seed example %q: want METHOD PATH [BODY]", line)
		}
		ex := seedExample{line: line, method: f[0], path: f[1]}
		rest := strings.TrimSpace(line[strings.Index(line, f[1])+len(f[1]):])
		switch {
		case strings.HasPrefix(rest, "{"):
			ex.body = rest
		case strings.HasPrefix(rest, "("):
			for n := range strings.SplitSeq(strings.Trim(rest, "()"), ",") {
				ex.fields = append(ex.fields, strings.TrimSpace(n))
			}
		case rest != "":
			t.Fatalf("seed example %q: %q is neither a body nor a list of fields", line, rest)
		}
		out = append(out, ex)
	}
	return out
}

// seedAPI asks a collector that listens inside a namespace.
type seedAPI struct {
	hc    *http.Client
	token string
}

type seedAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (a seedAPI) do(t *testing.T, method, path, body string) seedAnswer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://127.0.0.1:8000"+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	// The examples say nothing of authentication; this collector wants
	// its token on the mutating endpoints, as every collector does once
	// one is configured.
	req.Header.Set("Authorization", "Bearer "+a.token)
	res, err := a.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return seedAnswer{res.StatusCode, res.Header, b}
}

// seedRow is what the checks read of a Client object.
type seedRow struct {
	ClientIP      string `json:"client_ip"`
	ServerIP      string `json:"server_ip"`
	InterfaceName string `json:"interface_name"`
	SessionCount  int64  `json:"session_count"`
	AnsweredCount int64  `json:"answered_count"`
}

type seedPage struct {
	Data       []seedRow `json:"data"`
	Pagination struct {
		Page     int   `json:"page"`
		PageSize int   `json:"page_size"`
		Total    int64 `json:"total"`
	} `json:"pagination"`
}

func decodeSeed[T any](t *testing.T, a seedAnswer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("answer is not the JSON expected: %v: %.500s", err, a.body)
	}
	return v
}

func addrsOf(rows []seedRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.ClientIP+"@"+r.InterfaceName)
	}
	slices.Sort(out)
	return out
}

// The seed's clients, on the seed's interface, and one more client that
// the seed's filters must leave out of the searches by address.
const (
	seedServer = "192.168.1.1"
	seedA      = "192.168.1.100"
	seedB      = "192.168.1.101"
	seedAReqs  = 3
	seedBReqs  = 2
)

// TestSeedExamples runs every API example of the seed, as written, against
// a real ntp-collector with a real ntp-worker capturing real NTP traffic:
// the collector, the worker and a chronyd server run in a network namespace
// whose interface is called eth0, as the examples expect; the seed's
// clients 192.168.1.100 and .101 (addresses private to the test's
// namespaces) and one more query that chronyd, and the worker sees them on
// eth0. Each example must answer what it asks for, with the data sent.
func TestSeedExamples(t *testing.T) {
	testnet.Require(t)
	examples := readSeedExamples(t)
	n := testnet.New(t)
	mon := n.AddHost("mon") // the NTP server's host: chronyd, the collector and its worker
	cli := n.AddHost("cli")
	for _, a := range []struct {
		h      *testnet.Host
		prefix string
	}{{mon, seedServer + "/24"}, {cli, seedA + "/24"}, {cli, seedB + "/24"}} {
		if out, err := exec.Command("ip", "-n", a.h.NS, "addr", "add", a.prefix, "dev", a.h.Iface).CombinedOutput(); err != nil {
			t.Fatalf("ip addr add %s in %s: %v: %s", a.prefix, a.h.NS, err, out)
		}
	}
	mon.StartChronyd(t, testnet.ChronyOptions{AllAddresses: true, Extra: []string{"allow 192.168.1.0/24"}})

	dir := t.TempDir()
	worker := filepath.Join(dir, "ntp-worker")
	build := exec.Command("go", "build", "-o", worker, "../ntp-worker")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build ntp-worker: %v\n%s", err, out)
	}
	// The namespace is the collector's own host: its default ports are free.
	col := mon.Start(t, bin, "serve", "--db", filepath.Join(dir, "ntp_clients.db"),
		"--http-listen", "127.0.0.1:8000", "--ingestion-port", "10000", "--worker-bin", worker,
		"--pid-dir", filepath.Join(dir, "run"), "--log-dir", filepath.Join(dir, "log"),
		"--batch-interval", "200ms", "--api-token", "seed-examples")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ntp-collector output:\n%s", col.Output())
		}
	})
	api := seedAPI{hc: &http.Client{Transport: &http.Transport{DialContext: mon.DialContext}}, token: "seed-examples"}
	eventually(t, "the collector answers /health", col, func() bool {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:8000/health", nil)
		res, err := api.hc.Do(req)
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})

	checks := seedChecks(cli)
	for _, ex := range examples {
		check, ok := checks[ex.line]
		if !ok {
			t.Fatalf("seed example %q has no check here: add one", ex.line)
		}
		delete(checks, ex.line)
		a := api.do(t, ex.method, ex.path, ex.body)
		t.Logf("%s %s → %d", ex.method, ex.path, a.status)
		for _, f := range ex.fields {
			if !bytes.Contains(a.body, []byte(`"`+f+`":`)) {
				t.Errorf("%s: the answer has no %s: %.500s", ex.line, f, a.body)
			}
		}
		check(t, a)
		if ex.path == "/api/ntp/interfaces/eth0/start" && !t.Failed() {
			sendSeedTraffic(t, api, col, cli, mon)
		}
	}
	for line := range checks {
		t.Errorf("a check for %q, which is not a seed example", line)
	}
}

// eventually polls cond until it holds, failing the test after 30 s or
// when p exits first.
func eventually(t *testing.T, what string, p *testnet.Proc, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		select {
		case <-p.Done():
			t.Fatalf("waiting until %s: ntp-collector exited: %v\n%s", what, p.Err(), p.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting until %s: timed out", what)
		}
	}
}

// sendSeedTraffic waits for the worker that the start example asked for,
// sends the seed's clients' requests to chronyd and one from the client
// host's own address, and waits until the collector has stored them all.
func sendSeedTraffic(t *testing.T, api seedAPI, col *testnet.Proc, cli, mon *testnet.Host) {
	t.Helper()
	eventually(t, "the worker on eth0 runs", col, func() bool {
		var st struct{ State string }
		a := api.do(t, "GET", "/api/ntp/interfaces/eth0/status", "")
		return a.status == http.StatusOK && json.Unmarshal(a.body, &st) == nil && st.State == "running"
	})
	ask := func(from, to netip.Addr) {
		t.Helper()
		c, err := cli.ListenUDP(netip.AddrPortFrom(from, 0))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.WriteToUDPAddrPort(testnet.NTPRequest(4, 3, time.Now()), netip.AddrPortFrom(to, 123)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 512)
		if n, _, err := c.ReadFromUDPAddrPort(buf); err != nil || n < 48 {
			t.Fatalf("chronyd did not answer %v: %d bytes, %v", from, n, err)
		}
	}
	for range seedAReqs {
		ask(netip.MustParseAddr(seedA), netip.MustParseAddr(seedServer))
	}
	for range seedBReqs {
		ask(netip.MustParseAddr(seedB), netip.MustParseAddr(seedServer))
	}
	ask(cli.V4, mon.V4)
	eventually(t, "the collector stores the requests", col, func() bool {
		a := api.do(t, "GET", "/api/ntp/history/clients?page_size=100", "")
		if a.status != http.StatusOK {
			return false
		}
		var sessions int64
		for _, r := range decodeSeed[seedPage](t, a).Data {
			sessions += r.SessionCount
		}
		return sessions == seedAReqs+seedBReqs+1
	})
}

// seedChecks says, per seed example, what its answer must hold given the
// traffic sendSeedTraffic sent.
func seedChecks(cli *testnet.Host) map[string]func(*testing.T, seedAnswer) {
	all := []string{seedA + "@eth0", seedB + "@eth0", cli.V4.String() + "@eth0"}
	slices.Sort(all)
	want := func(t *testing.T, a seedAnswer, status int) {
		t.Helper()
		if a.status != status {
			t.Fatalf("status %d, want %d: %.500s", a.status, status, a.body)
		}
	}
	return map[string]func(*testing.T, seedAnswer){
		`POST /api/ntp/interfaces/eth0/start   {"port": 123, "timeout": 2.0}`: func(t *testing.T, a seedAnswer) {
			want(t, a, http.StatusCreated)
			var st struct {
				Interface string
				Options   struct {
					Port    int
					Timeout float64
				}
			}
			if json.Unmarshal(a.body, &st); st.Interface != "eth0" || st.Options.Port != 123 || st.Options.Timeout != 2 {
				t.Errorf("worker status %s", a.body)
			}
		},
		`GET  /api/ntp/history/clients?page=1&page_size=10`: func(t *testing.T, a seedAnswer) {
			want(t, a, http.StatusOK)
			p := decodeSeed[seedPage](t, a)
			if p.Pagination.Page != 1 || p.Pagination.PageSize != 10 || p.Pagination.Total != 3 || !slices.Equal(addrsOf(p.Data), all) {
				t.Errorf("page %+v, clients %v; want page 1 of 10, total 3, clients %v", p.Pagination, addrsOf(p.Data), all)
			}
		},
		`GET  /api/ntp/history/clients?search_ip=192.168.1.100`: func(t *testing.T, a seedAnswer) {
			want(t, a, http.StatusOK)
			p := decodeSeed[seedPage](t, a)
			if len(p.Data) != 1 || p.Data[0].ClientIP != seedA || p.Data[0].SessionCount != seedAReqs {
				t.Errorf("clients %+v, want %s alone with %d sessions", p.Data, seedA, seedAReqs)
			}
		},
		`GET  /api/ntp/history/clients?interface_name=eth0`: func(t *testing.T, a seedAnswer) {
			want(t, a, http.StatusOK)
			if got := addrsOf(decodeSeed[seedPage](t, a).Data); !slices.Equal(got, all) {
				t.Errorf("clients %v, want %v", got, all)
			}
		},
		`GET  /api/ntp/history/clients/192.168.1.100`: func(t *testing.T, a seedAnswer) {
			want(t, a, http.StatusOK)
			d := decodeSeed[struct {
				ClientIP string    `json:"client_ip"`
				Data     []seedRow `json:"data"`
			}](t, a)
			if d.ClientIP != seedA || len(d.Data) != 1 {
				t.Fatalf("detail %s", a.body)
			}
			r := d.Data[0]
			if r.InterfaceName != "eth0" || r.ServerIP != seedServer || r.SessionCount != seedAReqs || r.AnsweredCount != seedAReqs {
				t.Errorf("row %+v, want eth0, server %s, %d sessions all answered", r, seedServer, seedAReqs)
			}
		},
		`GET  /api/ntp/history/interfaces/statistics`: func(t *testing.T, a seedAnswer) {
			want(t, a, http.StatusOK)
			s := decodeSeed[struct {
				Data []struct {
					InterfaceName string `json:"interface_name"`
					Clients       int64  `json:"clients"`
					Sessions      int64  `json:"sessions"`
				} `json:"data"`
			}](t, a)
			if len(s.Data) != 1 || s.Data[0].InterfaceName != "eth0" || s.Data[0].Clients != 3 || s.Data[0].Sessions != seedAReqs+seedBReqs+1 {
				t.Errorf("statistics %s, want eth0 with 3 clients and %d sessions", a.body, seedAReqs+seedBReqs+1)
			}
		},
		`POST /api/ntp/history/search  {"filters": {"client_ips": ["192.168.1.100", "192.168.1.101"], "interface_names": ["eth0"]}, "pagination": {"page": 1, "page_size": 20}}`: func(t *testing.T, a seedAnswer) {
			want(t, a, http.StatusOK)
			p := decodeSeed[seedPage](t, a)
			if w := []string{seedA + "@eth0", seedB + "@eth0"}; !slices.Equal(addrsOf(p.Data), w) || p.Pagination.PageSize != 20 {
				t.Errorf("clients %v (page %+v), want %v on pages of 20", addrsOf(p.Data), p.Pagination, w)
			}
		},
		`POST /api/ntp/history/export  {"format": "json", "limit": 1000, "filters": {"interface_name": "eth0"}}`: func(t *testing.T, a seedAnswer) {
			want(t, a, http.StatusOK)
			if got := addrsOf(decodeSeed[[]seedRow](t, a)); !slices.Equal(got, all) {
				t.Errorf("exported %v, want %v", got, all)
			}
			if cd := a.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || a.header.Get("X-Export-Limit") != "1000" {
				t.Errorf("Content-Disposition %q, X-Export-Limit %q", cd, a.header.Get("X-Export-Limit"))
			}
		},
		`GET  /api/ntp/history/service/statistics   (total_received, total_processed, queue_size, processing_errors, total_inserted, total_updated)`: func(t *testing.T, a seedAnswer) {
			want(t, a, http.StatusOK)
			s := decodeSeed[struct {
				Ingestion map[string]any `json:"ingestion"`
			}](t, a)
			sessions := float64(seedAReqs + seedBReqs + 1)
			in := s.Ingestion
			if in["total_received"] != sessions || in["total_processed"] != sessions || in["total_inserted"] != 3.0 ||
				in["processing_errors"] != 0.0 || in["queue_size"] != 0.0 {
				t.Errorf("ingestion %v, want %v sessions received and processed, 3 rows inserted, no errors, an empty queue", in, sessions)
			}
		},
	}
}
