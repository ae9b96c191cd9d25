package ingest_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/ingest/ingesttest"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testpki"
	"github.com/ntp-monitor/ntp-monitor/pkg/tlsfiles"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// pki is a CA, the collector's certificate files and the loaded material.
type pki struct {
	dir               string
	ca                *testpki.CA
	certFile, keyFile string
	cert              *tlsfiles.Certificate
	clientCAs         *tlsfiles.Pool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir(), ca: testpki.NewCA(t, "ingest test CA")}
	p.certFile, p.keyFile = p.ca.Server(t, "collector.test", "127.0.0.1").Write(t, p.dir, "collector")
	var err error
	if p.cert, err = tlsfiles.LoadCertificate(p.certFile, p.keyFile); err != nil {
		t.Fatal(err)
	}
	if p.clientCAs, err = tlsfiles.LoadPool(p.ca.WriteCA(t, p.dir, "ca")); err != nil {
		t.Fatal(err)
	}
	return p
}

// client is a TLS configuration that trusts the CA, presenting cert when it
// is not nil.
func (p *pki) client(cert *testpki.Issued, t *testing.T) *tls.Config {
	cfg := &tls.Config{RootCAs: p.ca.Pool(), ServerName: "collector.test", MinVersion: tls.VersionTLS13}
	if cert != nil {
		c := cert.TLS(t)
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }
	}
	return cfg
}

func tlsConnect(t *testing.T, addr, id string, cfg *tls.Config) (*ingesttest.Client, error) {
	t.Helper()
	c := ingesttest.New(addr, id, "eth0", "")
	c.TLS = cfg
	_, err := c.Connect(context.Background())
	if err == nil {
		t.Cleanup(c.Close)
	}
	return c, err
}

// TLS ingestion: a worker streams over TLS 1.3; a plaintext hello gets
// nothing readable back and is counted; a client that offers TLS 1.2 at
// most is refused.
func TestTLSIngestion(t *testing.T) {
	p := newPKI(t)
	h := start(t, ingest.Config{TLSCert: p.cert, BatchSize: 10, BatchInterval: 10 * time.Millisecond})
	c, err := tlsConnect(t, h.addr, "w-tls", p.client(nil, t))
	if err != nil {
		t.Fatal(err)
	}
	sendAll(t, c, storetest.Sessions(100, 20, 31))
	waitAcked(t, c, 100)
	if got := h.packets(); got != 100 {
		t.Errorf("store holds %d sessions, want 100", got)
	}

	nc, br := dialRawWrite(t, h.addr, string(wire.AppendHello(nil, &wire.Hello{Protocol: 1, WorkerID: "w-plain", Interface: "eth0"})))
	got, err := io.ReadAll(br)
	if len(got) != 0 || err != nil {
		t.Errorf("a plaintext hello got %q (%v) back, want nothing and the end of the connection", got, err)
	}
	nc.Close()
	waitFor(t, "the plaintext peer counted", func() bool { return h.srv.Snapshot().ErrorsByKind[ingest.ErrKindPlaintext] == 1 })

	old := p.client(nil, t)
	old.MinVersion, old.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	if _, err := tlsConnect(t, h.addr, "w-tls12", old); err == nil {
		t.Error("a TLS 1.2 client was welcomed")
	}
	waitFor(t, "the TLS 1.2 client counted", func() bool { return h.srv.Snapshot().ErrorsByKind[ingest.ErrKindTLS] == 1 })
	if !strings.Contains(h.logs.String(), "peer spoke plaintext to the TLS ingestion port") {
		t.Error("no log line for the plaintext peer")
	}
}

// Mutual TLS: a certificate of the client CA gets in and names the worker;
// one of another CA, none, an expired one and one without client-auth
// usage are refused during the handshake; the collector's own certificate
// gets in (it is what the workers it starts present).
func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	h := start(t, ingest.Config{TLSCert: p.cert, TLSClientCAs: p.clientCAs, BatchSize: 1, BatchInterval: 10 * time.Millisecond})
	other := testpki.NewCA(t, "another CA")
	good := p.ca.Client(t, "worker-1.test")
	foreign := other.Client(t, "worker-1.test")
	expired := p.ca.Issue(t, testpki.Template{CommonName: "worker-old.test", Client: true, NotAfter: time.Now().Add(-time.Minute)})
	serverOnly := p.ca.Issue(t, testpki.Template{CommonName: "not-a-client.test", Server: true})
	own := testpki.Issued{CertPEM: mustRead(t, p.certFile), KeyPEM: mustRead(t, p.keyFile)}

	tests := []struct {
		name     string
		cert     *testpki.Issued
		identity string // "" when refused
	}{
		{"client certificate of the CA", &good, "worker-1.test"},
		{"certificate of another CA", &foreign, ""},
		{"no certificate", nil, ""},
		{"expired certificate", &expired, ""},
		{"server certificate without client auth", &serverOnly, ""},
		{"the collector's own certificate", &own, "collector.test"},
	}
	refused := uint64(0)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "w-mtls-" + string(rune('a'+i))
			c, err := tlsConnect(t, h.addr, id, p.client(tt.cert, t))
			if tt.identity == "" {
				if err == nil {
					t.Fatal("welcomed")
				}
				refused++
				waitFor(t, "the refusal counted", func() bool { return h.srv.Snapshot().ErrorsByKind[ingest.ErrKindTLS] == refused })
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sendAll(t, c, storetest.Sessions(2, 2, uint64(40+i)))
			waitAcked(t, c, 2)
			for _, w := range h.srv.Snapshot().Workers {
				if w.WorkerID == id && (w.Identity != tt.identity || w.Binding != ingest.BindingCertificate) {
					t.Errorf("worker %s: identity %q, binding %q; want %q, %q", id, w.Identity, w.Binding, tt.identity, ingest.BindingCertificate)
				}
			}
		})
	}
	if !strings.Contains(h.logs.String(), `tls_identity=worker-1.test`) {
		t.Error("the worker's identity is not in the hello's log line")
	}

	// Another certificate of the same CA cannot take over the id that
	// worker-1 first used.
	second := p.ca.Client(t, "worker-2.test")
	if _, err := tlsConnect(t, h.addr, "w-mtls-a", p.client(&second, t)); err == nil || !strings.Contains(err.Error(), "bound to another worker") {
		t.Errorf("another certificate for a bound worker_id: %v", err)
	}
}

// The certificate is reloaded while a worker stays connected: the worker
// goes on over its connection, and a new connection sees the new
// certificate.
func TestCertificateReloadKeepsWorkers(t *testing.T) {
	p := newPKI(t)
	h := start(t, ingest.Config{TLSCert: p.cert, BatchSize: 1, BatchInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go tlsfiles.Watch(ctx, slog.New(slog.DiscardHandler), 10*time.Millisecond, nil, p.cert)

	c, err := tlsConnect(t, h.addr, "w-reload", p.client(nil, t))
	if err != nil {
		t.Fatal(err)
	}
	ss := storetest.Sessions(20, 5, 50)
	sendAll(t, c, ss[:10])
	waitAcked(t, c, 10)
	before := peerSerial(t, h.addr, p)
	p.ca.Server(t, "collector.test", "127.0.0.1").Write(t, p.dir, "collector")
	waitFor(t, "the new certificate served", func() bool { return peerSerial(t, h.addr, p) != before })
	sendAll(t, c, ss[10:])
	waitAcked(t, c, 20)
	select {
	case <-c.Closed():
		t.Error("the reload closed the worker's connection")
	default:
	}
	if got := h.packets(); got != 20 {
		t.Errorf("store holds %d sessions, want 20", got)
	}
}

// peerSerial is the serial number of the certificate a new connection sees.
func peerSerial(t *testing.T, addr string, p *pki) string {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, p.client(nil, t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
