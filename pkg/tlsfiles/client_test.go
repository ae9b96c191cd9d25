package tlsfiles_test

import (
	"crypto/tls"
	"os"
	"strings"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testpki"
	"github.com/ntp-monitor/ntp-monitor/pkg/tlsfiles"
)

// tlsServer accepts TLS 1.3 connections on loopback with the certificate of
// the moment, asking for a client certificate, and reports the client's.
func tlsServer(t *testing.T, cert *tls.Certificate) (addr string, clients <-chan string) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		MinVersion: tls.VersionTLS13, ClientAuth: tls.RequestClientCert,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			if tc.Handshake() == nil {
				name := "-"
				if pc := tc.ConnectionState().PeerCertificates; len(pc) > 0 {
					name = pc[0].Subject.CommonName
				}
				ch <- name
			}
			c.Close()
		}
	}()
	return ln.Addr().String(), ch
}

// ClientConfig verifies the server for its name against the pool as it is
// at each handshake, and presents the client certificate.
func TestClientConfig(t *testing.T) {
	dir := t.TempDir()
	a, b := testpki.NewCA(t, "A"), testpki.NewCA(t, "B")
	srv := b.Server(t, "collector.test").TLS(t)
	addr, clients := tlsServer(t, &srv)
	caFile := a.WriteCA(t, dir, "ca")
	pool, err := tlsfiles.LoadPool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	cc, ck := a.Client(t, "worker-1").Write(t, dir, "client")
	cert, err := tlsfiles.LoadCertificate(cc, ck)
	if err != nil {
		t.Fatal(err)
	}
	dial := func(name string) error {
		c, err := tls.Dial("tcp", addr, tlsfiles.ClientConfig(name, pool, cert))
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial("collector.test"); err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Fatalf("server of another CA: %v", err)
	}
	os.WriteFile(caFile, b.CertPEM, 0o600)
	if err := pool.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := dial("collector.test"); err != nil {
		t.Fatalf("after the CA bundle was replaced: %v", err)
	}
	if got := <-clients; got != "worker-1" {
		t.Errorf("server saw client certificate %q, want worker-1", got)
	}
	if err := dial("other.test"); err == nil || !strings.Contains(err.Error(), "other.test") {
		t.Errorf("wrong server name: %v", err)
	}
	// Without a pool the system's roots decide, which know neither CA.
	if c, err := tls.Dial("tcp", addr, tlsfiles.ClientConfig("collector.test", nil, nil)); err == nil {
		c.Close()
		t.Error("system roots accepted a test CA")
	}
}
