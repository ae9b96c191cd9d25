package main_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest/ingesttest"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapgen"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testnet"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testpki"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

var (
	workerOnce sync.Once
	workerPath string
	workerErr  error
)

// workerBin builds cmd/ntp-worker once per test binary, next to the
// collector built by TestMain.
func workerBin(t *testing.T) string {
	t.Helper()
	workerOnce.Do(func() {
		workerPath = filepath.Join(filepath.Dir(bin), "ntp-worker")
		out, err := exec.Command("go", "build", "-o", workerPath, "../ntp-worker").CombinedOutput()
		if err != nil {
			workerErr = fmt.Errorf("go build ../ntp-worker: %v\n%s", err, out)
		}
	})
	if workerErr != nil {
		t.Fatal(workerErr)
	}
	return workerPath
}

// files are a CA, the collector's certificate and a worker's, as PEM files.
type files struct {
	dir                           string
	ca                            *testpki.CA
	caFile, srvCert, srvKey       string
	workerCert, workerKey, tokenF string
}

func newFiles(t *testing.T, token string) *files {
	t.Helper()
	f := &files{dir: t.TempDir(), ca: testpki.NewCA(t, "collector test CA")}
	f.caFile = f.ca.WriteCA(t, f.dir, "ca")
	f.srvCert, f.srvKey = f.ca.Server(t, "collector.test", "127.0.0.1").Write(t, f.dir, "collector")
	f.workerCert, f.workerKey = f.ca.Client(t, "worker-1.test").Write(t, f.dir, "worker")
	f.tokenF = filepath.Join(f.dir, "token")
	if err := os.WriteFile(f.tokenF, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *files) clientTLS(t *testing.T) *tls.Config {
	t.Helper()
	c, err := tls.LoadX509KeyPair(f.workerCert, f.workerKey)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: f.ca.Pool(), ServerName: "collector.test", Certificates: []tls.Certificate{c}}
}

// getJSON decodes GET url into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, b)
	}
}

func metrics(t *testing.T, api string) string {
	t.Helper()
	resp, err := http.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

type workerStat struct {
	WorkerID    string  `json:"worker_id"`
	Interface   string  `json:"interface"`
	TLSIdentity *string `json:"tls_identity"`
	Binding     string  `json:"binding"`
	Acked       uint64  `json:"acked"`
	Connected   bool    `json:"connected"`
}

type serviceStats struct {
	Ingestion struct {
		ErrorsByKind map[string]uint64 `json:"errors_by_kind"`
	} `json:"ingestion"`
	Workers []workerStat `json:"workers"`
}

// The real worker binary streams a capture to the real collector over
// mutual TLS, both configured through their NTP_… variables and with the
// token in files; the collector shows the worker's certificate name with
// its statistics, counts a plaintext hello, and neither process has the
// token on its command line.
func TestMutualTLSEndToEnd(t *testing.T) {
	const token = "s3cret-token-in-a-file"
	f := newFiles(t, token)
	wbin := workerBin(t)
	db := filepath.Join(t.TempDir(), "ntp_clients.db")
	port, httpPort := freePort(t), freePort(t)
	p := run(t, []string{"NTP_TLS_CERT=" + f.srvCert, "NTP_TLS_KEY=" + f.srvKey, "NTP_TLS_CLIENT_CA=" + f.caFile,
		"NTP_TOKEN_FILE=" + f.tokenF, "NTP_HTTP_LISTEN=127.0.0.1:" + strconv.Itoa(httpPort)},
		"serve", "--db", db, "--ingestion-port", strconv.Itoa(port), "--batch-interval", "20ms")
	api := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	waitUntil(t, "the collector listening", func() bool { return strings.Contains(p.stderr.String(), "ingestion listening") })

	pcap := filepath.Join(t.TempDir(), "capture.pcap")
	pf, _ := os.Create(pcap)
	sum, err := pcapgen.Write(pf, pcapgen.Config{Requests: 300, Clients: 30, IPv6Every: 3, UnansweredEvery: 10})
	pf.Close()
	if err != nil {
		t.Fatal(err)
	}
	w := exec.Command(wbin, "--pcap-file", pcap, "--ingestion-port", strconv.Itoa(port), "--tls")
	w.Env = append(os.Environ(), "NTP_TLS_CA="+f.caFile, "NTP_TLS_SERVER_NAME=collector.test",
		"NTP_TLS_CERT="+f.workerCert, "NTP_TLS_KEY="+f.workerKey, "NTP_TOKEN_FILE="+f.tokenF)
	var werr bytes.Buffer
	w.Stderr = &werr
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("worker: %v\n%s", err, werr.String())
		}
	case <-time.After(60 * time.Second):
		w.Process.Kill()
		t.Fatalf("worker did not finish:\n%s", werr.String())
	}
	for _, pid := range []int{p.cmd.Process.Pid} {
		argv, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if bytes.Contains(argv, []byte(token)) {
			t.Errorf("the token is on the collector's command line")
		}
	}

	var sv serviceStats
	getJSON(t, api+"/api/ntp/history/service/statistics", &sv)
	if len(sv.Workers) != 1 || sv.Workers[0].TLSIdentity == nil || *sv.Workers[0].TLSIdentity != "worker-1.test" ||
		sv.Workers[0].Binding != "certificate" || sv.Workers[0].Acked != uint64(sum.Requests) {
		t.Errorf("service statistics workers %+v: want one, worker-1.test, bound to its certificate, %d acked", sv.Workers, sum.Requests)
	}
	if got := countSessions(t, db); got != int64(sum.Requests) {
		t.Errorf("store holds %d sessions, want %d", got, sum.Requests)
	}
	if !strings.Contains(p.stderr.String(), "tls_identity=worker-1.test") {
		t.Error("the collector's log does not name the worker's certificate at its hello")
	}

	// A plaintext hello: nothing readable comes back, and it is counted.
	nc, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	nc.Write(wire.AppendHello(nil, &wire.Hello{Protocol: 1, WorkerID: "w-plain", Interface: "eth0", Token: token}))
	nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	if got, _ := io.ReadAll(nc); len(got) != 0 {
		t.Errorf("a plaintext hello got %q back", got)
	}
	nc.Close()
	waitUntil(t, "the plaintext hello in /metrics", func() bool {
		return strings.Contains(metrics(t, api), `ntp_collector_processing_errors_total{kind="plaintext"} 1`)
	})
	getJSON(t, api+"/api/ntp/history/service/statistics", &sv)
	if sv.Ingestion.ErrorsByKind["plaintext"] != 1 {
		t.Errorf("errors by kind %v: want plaintext 1", sv.Ingestion.ErrorsByKind)
	}
	if strings.Contains(p.stderr.String(), token) {
		t.Error("the token is in the collector's log")
	}
}

// The listener's certificate is replaced on SIGHUP and when its files
// change, while a worker stays connected and streaming; a new connection
// sees the new certificate. A broken replacement keeps the old one and the
// log says why.
func TestCertificateReload(t *testing.T) {
	f := newFiles(t, "tok")
	db := filepath.Join(t.TempDir(), "ntp_clients.db")
	port := freePort(t)
	p := serve(t, db, port, "--tls-cert", f.srvCert, "--tls-key", f.srvKey, "--batch-interval", "20ms")
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	serial := func() string {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, f.clientTLS(t))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	c := ingesttest.New(addr, "w-reload", "eth0", "")
	c.TLS = f.clientTLS(t)
	reconnect(t, c)
	defer c.Close()
	ss := storetest.Sessions(30, 10, 60)
	stream := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			c.Send(&ss[i])
		}
		c.Flush()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := c.WaitAcked(ctx, uint64(to)); err != nil {
			t.Fatal(err)
		}
	}
	stream(0, 10)
	first := serial()

	f.ca.Server(t, "collector.test", "127.0.0.1").Write(t, f.dir, "collector")
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitUntil(t, "the certificate replaced after SIGHUP", func() bool { return serial() != first })
	if !strings.Contains(p.stderr.String(), "signal=hangup") {
		t.Errorf("the log does not say SIGHUP reloaded the certificate")
	}
	stream(10, 20)
	second := serial()

	// No signal: the changed files are noticed (polled every 5 s).
	f.ca.Server(t, "collector.test", "127.0.0.1").Write(t, f.dir, "collector")
	waitUntil(t, "the certificate replaced after the files changed", func() bool { return serial() != second })
	third := serial()

	// A key that does not match: refused, the certificate stays.
	other := f.ca.Server(t, "collector.test")
	os.WriteFile(f.srvKey, other.KeyPEM, 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitUntil(t, "the failed reload logged", func() bool { return strings.Contains(p.stderr.String(), "TLS reload failed") })
	if got := serial(); got != third {
		t.Errorf("a failed reload changed the certificate")
	}
	stream(20, 30)
	select {
	case <-c.Closed():
		t.Error("a reload closed the worker's connection")
	default:
	}
	if got := countSessions(t, db); got != 30 {
		t.Errorf("store holds %d sessions, want 30", got)
	}
}

// A collector with mutual TLS starts its own worker (on lo) through the
// API: the supervisor passes it the collector's certificate, as CA and as
// client certificate, and it connects over mutual TLS with no certificate
// of its own.
func TestSupervisedWorkerUsesTLS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("capture on lo needs root (or CAP_NET_RAW); run the tests as root")
	}
	f := newFiles(t, "tok")
	wbin := workerBin(t)
	port, httpPort := freePort(t), freePort(t)
	api := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	serve(t, filepath.Join(t.TempDir(), "ntp_clients.db"), port, "--tls-cert", f.srvCert, "--tls-key", f.srvKey,
		"--tls-client-ca", f.caFile, "--token-file", f.tokenF, "--worker-bin", wbin,
		"--http-listen", "127.0.0.1:"+strconv.Itoa(httpPort), "--api-token", "api-tok")
	req, _ := http.NewRequest("POST", api+"/api/ntp/interfaces/lo/start", strings.NewReader(`{"port":1123}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer api-tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("start: %d %s", resp.StatusCode, body)
	}
	// Workers outlive their collector (a restarted one adopts them), so
	// the test stops its worker itself; a POST needs its Content-Type.
	t.Cleanup(func() {
		req, _ := http.NewRequest("POST", api+"/api/ntp/interfaces/lo/stop", nil)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer api-tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("stopping the worker: %v", err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Errorf("stopping the worker: %s", resp.Status)
		}
	})
	for _, want := range []string{"--tls", "--tls-ca=" + f.srvCert, "--tls-server-name=collector.test", "--tls-cert=" + f.srvCert, "--tls-key=" + f.srvKey} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the worker's argv lacks %s: %s", want, body)
		}
	}
	var sv serviceStats
	waitUntil(t, "the supervised worker connected", func() bool {
		getJSON(t, api+"/api/ntp/history/service/statistics", &sv)
		return len(sv.Workers) == 1 && sv.Workers[0].Connected
	})
	if w := sv.Workers[0]; w.Interface != "lo" || w.TLSIdentity == nil || *w.TLSIdentity != "collector.test" || w.Binding != "certificate" {
		t.Errorf("supervised worker %+v: want lo, as collector.test, bound to the certificate", w)
	}
}

// TLS and token settings that cannot work stop the collector at start, with
// one line that says why.
func TestTLSStartupFaults(t *testing.T) {
	f := newFiles(t, "tok")
	dir := t.TempDir()
	expired := f.ca.Issue(t, testpki.Template{CommonName: "old.test", Server: true, NotAfter: time.Now().Add(-time.Hour)})
	oldCert, oldKey := expired.Write(t, dir, "expired")
	db := func(name string) string { return filepath.Join(dir, name+".db") }
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"certificate without key", nil, []string{"--db", db("a"), "--tls-cert", f.srvCert}, "--tls-cert and --tls-key go together"},
		{"client CA without certificate", []string{"NTP_TLS_CLIENT_CA=" + f.caFile}, []string{"--db", db("b")}, "--tls-client-ca needs --tls-cert"},
		{"key of another certificate", nil, []string{"--db", db("c"), "--tls-cert", f.srvCert, "--tls-key", f.workerKey}, "private key does not match"},
		{"expired certificate", nil, []string{"--db", db("d"), "--tls-cert", oldCert, "--tls-key", oldKey}, "validity period"},
		{"client CA file without certificates", nil, []string{"--db", db("e"), "--tls-cert", f.srvCert, "--tls-key", f.srvKey, "--tls-client-ca", f.tokenF},
			"no PEM certificate"},
		{"token twice", []string{"NTP_TOKEN=a"}, []string{"--db", db("f"), "--token-file", f.tokenF}, "--token and --token-file"},
		{"token file missing", nil, []string{"--db", db("g"), "--token-file", filepath.Join(dir, "absent")}, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantStartupFailure(t, tc.env, tc.args, tc.want) })
	}
}

// readmeBlocks returns the sh blocks of the README section that starts
// with heading, in order.
func readmeBlocks(t *testing.T, heading string) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, heading+"\n")
	if i < 0 {
		t.Fatalf("README has no %q", heading)
	}
	text = text[i+len(heading):]
	if j := strings.Index(text, "\n## "); j >= 0 {
		text = text[:j]
	}
	var blocks []string
	for {
		k := strings.Index(text, "```sh\n")
		if k < 0 {
			return blocks
		}
		text = text[k+len("```sh\n"):]
		end := strings.Index(text, "```")
		blocks = append(blocks, text[:end])
		text = text[end+3:]
	}
}

// argv splits a one-command block (lines joined by backslashes) into words.
func argv(block string) []string {
	return strings.Fields(strings.ReplaceAll(block, "\\\n", " "))
}

// The README's worked example as written: openssl makes the CA and the
// certificates, the collector runs with mutual TLS in one network
// namespace, and a worker in another ("another host", running chronyd)
// captures the queries of a third and streams them to it.
func TestWorkedExampleAcrossHosts(t *testing.T) {
	testnet.Require(t)
	for _, prog := range []string{"openssl", "chronyd", "curl"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Skipf("%s not installed (scripts/deps.sh installs it)", prog)
		}
	}
	blocks := readmeBlocks(t, "### Mutual TLS across hosts: a worked example")
	if len(blocks) != 3 {
		t.Fatalf("the worked example has %d sh blocks, want 3 (certificates, collector, worker)", len(blocks))
	}
	dir := t.TempDir()
	mk := exec.Command("sh", "-e", "-c", blocks[0])
	mk.Dir = dir
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("the README's openssl commands: %v\n%s", err, out)
	}
	wbin := workerBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	n := testnet.New(t)
	col, ntp1, cli := n.AddHost("col"), n.AddHost("ntp1"), n.AddHost("cli")
	ntp1.StartChronyd(t, testnet.ChronyOptions{})

	ca := argv(blocks[1])
	if ca[0] != "ntp-collector" {
		t.Fatalf("the collector block starts with %q", ca[0])
	}
	ca = append(append([]string{bin}, ca[1:]...), "--db", filepath.Join(dir, "ntp_clients.db"),
		"--pid-dir", filepath.Join(dir, "pid"), "--log-dir", filepath.Join(dir, "log"),
		"--http-listen", "127.0.0.1:8000", "--batch-interval", "100ms")
	cc := col.Command(context.Background(), ca[0], ca[1:]...)
	cc.Dir = dir
	cp := n.StartCmd(t, cc)

	wa := argv(blocks[2])
	if wa[0] != "ntp-worker" {
		t.Fatalf("the worker block starts with %q", wa[0])
	}
	// Dialled by address, as the README says to do then.
	for i := range wa {
		if wa[i] == "collector.example.net" {
			wa[i] = col.V4.String() + " --tls-server-name collector.example.net"
		}
	}
	wa = argv(strings.Join(append([]string{wbin}, wa[1:]...), " "))
	wc := ntp1.Command(context.Background(), wa[0], wa[1:]...)
	wc.Dir = dir
	wp := n.StartCmd(t, wc)

	api := func(path string, v any) error {
		out, err := col.Run(ctx, "curl", "-sf", "http://127.0.0.1:8000"+path)
		if err != nil {
			return err
		}
		return json.Unmarshal(out, v)
	}
	var sv serviceStats
	waitUntil(t, "the worker connected over mutual TLS", func() bool {
		return api("/api/ntp/history/service/statistics", &sv) == nil && len(sv.Workers) == 1 && sv.Workers[0].Connected
	})
	if w := sv.Workers[0]; w.TLSIdentity == nil || *w.TLSIdentity != "ntp1.example.net" || w.Binding != "certificate" || w.Interface != "eth0" {
		t.Errorf("worker %+v: want eth0 as ntp1.example.net, bound to its certificate", w)
	}
	const queries = 3
	for range queries {
		if out, err := cli.ChronyQuery(ctx, ntp1.V4); err != nil {
			t.Fatalf("chronyd -Q: %v\n%s", err, out)
		}
	}
	var detail struct {
		Data []struct {
			Interface string `json:"interface_name"`
			Sessions  int    `json:"session_count"`
			Answered  int    `json:"answered_count"`
		} `json:"data"`
	}
	waitUntil(t, "the queries stored", func() bool {
		return api("/api/ntp/history/clients/"+cli.V4.String(), &detail) == nil && len(detail.Data) == 1 &&
			detail.Data[0].Answered >= queries
	})
	if d := detail.Data[0]; d.Interface != "eth0" || d.Sessions < queries {
		t.Errorf("client %s: %+v", cli.V4, d)
	}
	for _, p := range []*testnet.Proc{cp, wp} {
		select {
		case <-p.Done():
			t.Errorf("%s exited: %v\n%s", p.Cmd.Args, p.Err(), p.Output())
		default:
		}
	}
	if !strings.Contains(cp.Output(), "tls_identity=ntp1.example.net") {
		t.Errorf("the collector's log does not name the worker:\n%s", cp.Output())
	}
}
