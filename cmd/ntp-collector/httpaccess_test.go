package main_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/apitoken"
	"github.com/ntp-monitor/ntp-monitor/pkg/secretfile"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testpki"
)

// apiProc is a running `ntp-collector serve` and the base URL of its API.
type apiProc struct {
	*proc
	url string
}

var listening = regexp.MustCompile(`msg="http api listening" addr=(\S+) tls=(\S+)`)

// serveAPI starts `ntp-collector serve` under a umask of 0 — what it
// creates must be private whatever the umask — with its database in dir,
// and waits until its HTTP API listens.
func serveAPI(t *testing.T, dir string, env []string, args ...string) *apiProc {
	t.Helper()
	argv := append([]string{"-c", `umask 000 && exec "$0" "$@"`, bin, "serve", "--db", filepath.Join(dir, "ntp_clients.db"),
		"--ingestion-port", "0", "--http-listen", "127.0.0.1:0",
		"--pid-dir", filepath.Join(dir, "run"), "--log-dir", filepath.Join(dir, "log")}, args...)
	p := start(t, exec.Command("/bin/sh", argv...), env)
	a := &apiProc{proc: p}
	waitUntil(t, "the HTTP API listens", func() bool {
		select {
		case <-p.done:
			t.Fatalf("ntp-collector exited: %v\n%s", p.err, p.stderr.String())
		default:
		}
		if m := listening.FindStringSubmatch(p.stderr.String()); m != nil {
			scheme := "http"
			if m[2] == "true" {
				scheme = "https"
			}
			a.url = scheme + "://" + m[1]
			return true
		}
		return false
	})
	return a
}

// stop ends the collector with SIGTERM and checks it exits 0.
func (a *apiProc) stop(t *testing.T) {
	t.Helper()
	a.cmd.Process.Signal(syscall.SIGTERM)
	if code := a.wait(20 * time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
}

// call sends a request with token (none when empty) and returns the
// status.
func (a *apiProc) call(t *testing.T, c *http.Client, method, path, token, body string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" || method == http.MethodPost {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

const dryRun = `{"older_than_days":36500,"dry_run":true}`

// TestTokenByDefault: the first start without a token generates one into
// the state directory, 0600, says where it is and never what it is; the
// mutating endpoints need it; the next start uses the same one. The
// database and its WAL are 0600 too under the umask of 0.
func TestTokenByDefault(t *testing.T) {
	dir := t.TempDir()
	a := serveAPI(t, dir, nil)
	path := filepath.Join(dir, apitoken.FileName)
	tok, err := secretfile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.call(t, nil, "POST", "/api/ntp/history/cleanup", "", dryRun).StatusCode; got != http.StatusUnauthorized {
		t.Errorf("cleanup without the token: %d, want 401", got)
	}
	if got := a.call(t, nil, "POST", "/api/ntp/history/cleanup", tok, dryRun).StatusCode; got != http.StatusOK {
		t.Errorf("cleanup with the generated token: %d, want 200", got)
	}
	if got := a.call(t, nil, "GET", "/api/ntp/history/clients", "", "").StatusCode; got != http.StatusOK {
		t.Errorf("reads without a read token: %d, want 200", got)
	}
	for p, want := range map[string]os.FileMode{
		path: 0o600, filepath.Join(dir, "ntp_clients.db"): 0o600,
		filepath.Join(dir, "ntp_clients.db-wal"): 0o600, filepath.Join(dir, "ntp_clients.db-shm"): 0o600,
	} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %04o", filepath.Base(p), fi.Mode(), err, want)
		}
	}
	a.stop(t)
	first := a.stderr.String()
	if !strings.Contains(first, "generated the admin token") || !strings.Contains(first, path) {
		t.Errorf("the first start does not say where the generated token is:\n%s", first)
	}
	if strings.Contains(first, tok) {
		t.Error("the token's value is in the log")
	}

	b := serveAPI(t, dir, nil)
	if got := b.call(t, nil, "POST", "/api/ntp/history/cleanup", tok, dryRun).StatusCode; got != http.StatusOK {
		t.Errorf("cleanup with the token after a restart: %d, want 200", got)
	}
	b.stop(t)
	if again, _ := secretfile.Read(path); again != tok {
		t.Error("a restart changed the token")
	}
	second := b.stderr.String()
	if strings.Contains(second, "generated") || !strings.Contains(second, `msg="http api admin token" from=`+path) || strings.Contains(second, tok) {
		t.Errorf("second start's log:\n%s", second)
	}
}

// TestTokenFromFile: --api-token-file keeps the token out of argv and out
// of the log, and the state directory gets a copy for the terminal
// commands; conflicting flags are refused.
func TestTokenFromFile(t *testing.T) {
	dir := t.TempDir()
	tokFile, readFile := filepath.Join(t.TempDir(), "admin"), filepath.Join(t.TempDir(), "read")
	os.WriteFile(tokFile, []byte("admin-from-file\n"), 0o600)
	os.WriteFile(readFile, []byte("read-from-file\n"), 0o600)
	a := serveAPI(t, dir, []string{"NTP_API_READ_TOKEN_FILE=" + readFile}, "--api-token-file", tokFile, "--protect-metrics")
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", a.cmd.Process.Pid))
	if strings.Contains(string(cmdline), "admin-from-file") {
		t.Error("the token is on the command line")
	}
	for _, tc := range []struct {
		method, path, token, body string
		want                      int
	}{
		{"POST", "/api/ntp/history/cleanup", "admin-from-file", dryRun, 200},
		{"POST", "/api/ntp/history/cleanup", "read-from-file", dryRun, 403},
		{"GET", "/api/ntp/history/clients", "", "", 401},
		{"GET", "/api/ntp/history/clients", "read-from-file", "", 200},
		{"GET", "/metrics", "", "", 401},
		{"GET", "/metrics", "read-from-file", "", 200},
		{"GET", "/ui/", "", "", 200},
	} {
		if got := a.call(t, nil, tc.method, tc.path, tc.token, tc.body).StatusCode; got != tc.want {
			t.Errorf("%s %s with %q: %d, want %d", tc.method, tc.path, tc.token, got, tc.want)
		}
	}
	a.stop(t)
	if kept, err := secretfile.Read(filepath.Join(dir, apitoken.FileName)); err != nil || kept != "admin-from-file" {
		t.Errorf("state directory's copy: %q, %v", kept, err)
	}
	if out := a.stderr.String(); strings.Contains(out, "admin-from-file") || strings.Contains(out, "read-from-file") {
		t.Error("a token's value is in the log")
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"token and token file", []string{"--api-token", "x", "--api-token-file", tokFile}, "give one"},
		{"no-auth and a token", []string{"--no-auth", "--api-token", "x"}, "--no-auth"},
		{"missing token file", []string{"--api-token-file", filepath.Join(dir, "none")}, "--api-token-file"},
		{"certificate without key", []string{"--http-tls-cert", tokFile}, "go together"},
		{"bad allowed host", []string{"--allowed-host", "https://x"}, "allowed host"},
		{"bad CORS origin", []string{"--cors-origin", "*"}, "CORS origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := run(t, nil, append([]string{"serve", "--db", filepath.Join(t.TempDir(), "x.db"), "--ingestion-port", "0"}, tc.args...)...)
			if code := p.wait(20 * time.Second); code == 0 {
				t.Fatal("exit code 0")
			}
			lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, "ntp-collector: ") || !strings.Contains(last, tc.want) {
				t.Errorf("last line %q, want …%s…", last, tc.want)
			}
		})
	}
}

// TestNoAuthIsLoud: --no-auth opens the API and says so at every start.
func TestNoAuthIsLoud(t *testing.T) {
	dir := t.TempDir()
	for range 2 {
		a := serveAPI(t, dir, []string{"NTP_NO_AUTH=true"})
		if got := a.call(t, nil, "POST", "/api/ntp/history/cleanup", "", dryRun).StatusCode; got != http.StatusOK {
			t.Errorf("cleanup with --no-auth: %d, want 200", got)
		}
		a.stop(t)
		if !strings.Contains(a.stderr.String(), `level=WARN msg="http api without authentication`) {
			t.Errorf("no warning:\n%s", a.stderr.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, apitoken.FileName)); !os.IsNotExist(err) {
		t.Errorf("--no-auth generated a token file: %v", err)
	}
}

// TestHTTPSReloadOnSIGHUP: HTTPS with HSTS; SIGHUP serves a renewed
// certificate without a restart; SIGHUP without TLS ends nothing.
func TestHTTPSReloadOnSIGHUP(t *testing.T) {
	dir, certs := t.TempDir(), t.TempDir()
	ca := testpki.NewCA(t, "test CA")
	firstCert, firstKey := ca.Server(t, "127.0.0.1").Write(t, certs, "api")
	a := serveAPI(t, dir, []string{"NTP_HTTP_TLS_KEY=" + firstKey}, "--http-tls-cert", firstCert)
	if !strings.HasPrefix(a.url, "https://") {
		t.Fatalf("API at %s", a.url)
	}
	client := func() *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	}
	resp := a.call(t, client(), "GET", "/health", "", "")
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("over HTTPS: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	second := ca.Server(t, "127.0.0.1")
	second.Write(t, certs, "api")
	a.cmd.Process.Signal(syscall.SIGHUP)
	waitUntil(t, "the renewed certificate is served", func() bool {
		r := a.call(t, client(), "GET", "/health", "", "")
		return r.TLS.PeerCertificates[0].SerialNumber.Cmp(second.Cert.SerialNumber) == 0
	})
	a.stop(t)

	plain := serveAPI(t, t.TempDir(), nil)
	plain.cmd.Process.Signal(syscall.SIGHUP)
	waitUntil(t, "the SIGHUP is logged", func() bool { return strings.Contains(plain.stderr.String(), "SIGHUP: no TLS certificate to reload") })
	if got := plain.call(t, nil, "GET", "/health", "", "").StatusCode; got != 200 {
		t.Errorf("after SIGHUP: %d", got)
	}
	plain.stop(t)
}
