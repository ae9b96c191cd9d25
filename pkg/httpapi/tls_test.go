package httpapi

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testpki"
	"github.com/ntp-monitor/ntp-monitor/pkg/tlsfiles"
)

// TestHTTPS serves the API over TLS on a loopback port: HSTS on every
// answer, TLS 1.2 at least, the Host check as over HTTP, and a renewed
// certificate served once reloaded, without a restart.
func TestHTTPS(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "ntp-monitor test CA")
	first := ca.Server(t, "127.0.0.1", "localhost")
	kp, err := tlsfiles.LoadCertificate(first.Write(t, dir, "api"))
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	fixture(t, st)
	// The keypair's config asks for no minimum: the server raises it.
	ts := newTestServer(t, st, func(c *Config) { c.TLS = &tls.Config{GetCertificate: kp.GetCertificate} })
	base := strings.Replace(startHTTP(t, ts.srv), "http://", "https://", 1)
	client := func(cfg *tls.Config) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
	}
	good := client(&tls.Config{RootCAs: ca.Pool()})

	get := func(c *http.Client, url string, hdr ...string) (*http.Response, error) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", ts.auth)
		for i := 0; i+1 < len(hdr); i += 2 {
			if hdr[i] == "Host" {
				req.Host = hdr[i+1]
			}
		}
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	resp, err := get(good, base+"/api/ntp/history/clients")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") != hstsMaxAge {
		t.Errorf("over TLS: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol %s, want HTTP/2 over TLS", resp.Proto)
	}
	if resp.TLS.PeerCertificates[0].SerialNumber.Cmp(first.Cert.SerialNumber) != 0 {
		t.Error("not the configured certificate")
	}
	if resp, err := get(good, base+"/health", "Host", "evil.example"); err != nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("Host evil.example over TLS: %v, %v", resp, err)
	}
	old := client(&tls.Config{RootCAs: ca.Pool(), MaxVersion: tls.VersionTLS11})
	if _, err := get(old, base+"/health"); err == nil {
		t.Error("a TLS 1.1 client was served")
	}

	// Renewed: new files, a reload, the next connection sees them.
	second := ca.Server(t, "127.0.0.1", "localhost")
	second.Write(t, dir, "api")
	if err := kp.Reload(); err != nil {
		t.Fatal(err)
	}
	fresh := client(&tls.Config{RootCAs: ca.Pool()})
	resp, err = get(fresh, base+"/health")
	if err != nil {
		t.Fatal(err)
	}
	if resp.TLS.PeerCertificates[0].SerialNumber.Cmp(second.Cert.SerialNumber) != 0 {
		t.Error("the renewed certificate is not served after the reload")
	}
}
