package sender

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testpki"
	"github.com/ntp-monitor/ntp-monitor/pkg/tlsfiles"
)

// tlsCollector is the real ingestion server with TLS (mutual when
// clientCAs), over a SQLite file.
func tlsCollector(t *testing.T, ca *testpki.CA, mutual bool, lb *logBuffer) *ingest.Server {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile := ca.Server(t, "collector.test").Write(t, dir, "collector")
	cert, err := tlsfiles.LoadCertificate(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ingest.Config{Addr: "127.0.0.1:0", TLSCert: cert, BatchSize: 50, BatchInterval: 10 * time.Millisecond, Logger: lb.logger()}
	if mutual {
		if cfg.TLSClientCAs, err = tlsfiles.LoadPool(ca.WriteCA(t, dir, "ca")); err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "ntp_clients.db"), store.Options{Logger: lb.logger()})
	if err != nil {
		t.Fatal(err)
	}
	srv := ingest.New(cfg, st)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	return srv
}

// clientTLS trusts ca for the collector and presents cert, when set.
func clientTLS(t *testing.T, ca *testpki.CA, cert *testpki.Issued) *tlsfiles.Certificate {
	t.Helper()
	if cert == nil {
		return nil
	}
	c, k := cert.Write(t, t.TempDir(), "worker")
	lc, err := tlsfiles.LoadCertificate(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return lc
}

func caPool(t *testing.T, ca *testpki.CA) *tlsfiles.Pool {
	t.Helper()
	p, err := tlsfiles.LoadPool(ca.WriteCA(t, t.TempDir(), "ca"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A sender streams over mutual TLS to the real collector, which binds its
// id to the certificate.
func TestMutualTLSToRealCollector(t *testing.T) {
	var lb logBuffer
	ca := testpki.NewCA(t, "CA")
	srv := tlsCollector(t, ca, true, &lb)
	cert := ca.Client(t, "worker-7.test")
	cfg := testConfig(srv.Addr().String(), &lb)
	cfg.TLS = tlsfiles.ClientConfig("collector.test", caPool(t, ca), clientTLS(t, ca, &cert))
	s := New(cfg)
	startRun(t, s)
	sendN(s, 1, 500)
	flush(t, s)
	snap := srv.Snapshot()
	if snap.CommittedSessions != 500 || len(snap.Workers) != 1 {
		t.Fatalf("committed %d sessions from %d workers, want 500 from 1", snap.CommittedSessions, len(snap.Workers))
	}
	if w := snap.Workers[0]; w.Identity != "worker-7.test" || w.Binding != ingest.BindingCertificate {
		t.Errorf("worker identity %q, binding %q", w.Identity, w.Binding)
	}
}

// Every way a TLS connection fails says what to look at.
func TestTLSFailuresSayWhy(t *testing.T) {
	ca, other := testpki.NewCA(t, "CA"), testpki.NewCA(t, "other CA")
	foreignCert := other.Client(t, "worker.test")
	tests := []struct {
		name   string
		mutual bool
		tls    func(t *testing.T) *tlsfiles.Certificate
		roots  *testpki.CA
		want   string
	}{
		{"collector of an unknown CA", false, func(*testing.T) *tlsfiles.Certificate { return nil }, other, "certificate signed by unknown authority"},
		{"client certificate of another CA", true, func(t *testing.T) *tlsfiles.Certificate { return clientTLS(t, other, &foreignCert) }, ca,
			"refused this worker's TLS client certificate"},
		{"no client certificate", true, func(*testing.T) *tlsfiles.Certificate { return nil }, ca, "refused this worker's TLS client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lb logBuffer
			srv := tlsCollector(t, ca, tt.mutual, &lb)
			cfg := testConfig(srv.Addr().String(), &lb)
			cfg.TLS = tlsfiles.ClientConfig("collector.test", caPool(t, tt.roots), tt.tls(t))
			s := New(cfg)
			startRun(t, s)
			waitFor(t, "a failed connection", 10*time.Second, func() bool { return s.Err() != nil })
			if err := s.Err(); !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}

	// TLS to a plaintext collector.
	var lb logBuffer
	rc := startRealCollector(t, "127.0.0.1:0", filepath.Join(t.TempDir(), "ntp_clients.db"), "", &lb)
	cfg := testConfig(rc.srv.Addr().String(), &lb)
	cfg.TLS = tlsfiles.ClientConfig("collector.test", caPool(t, ca), nil)
	cfg.DialTimeout = 10 * time.Second
	s := New(cfg)
	startRun(t, s)
	waitFor(t, "a failed connection", 20*time.Second, func() bool { return s.Err() != nil })
	if err := s.Err(); !strings.Contains(err.Error(), "the collector does not speak TLS") {
		t.Errorf("TLS to a plaintext collector: %v", err)
	}
}

// Without TLS the worker's hello carries its secret, and the collector
// binds the id to it.
func TestHelloCarriesSecret(t *testing.T) {
	var lb logBuffer
	rc := startRealCollector(t, "127.0.0.1:0", filepath.Join(t.TempDir(), "ntp_clients.db"), "", &lb)
	s := New(testConfig(rc.srv.Addr().String(), &lb))
	if len(s.Config().Secret) != 64 {
		t.Fatalf("default secret %q, want 64 hex digits", s.Config().Secret)
	}
	startRun(t, s)
	sendN(s, 1, 10)
	flush(t, s)
	if w := rc.srv.Snapshot().Workers[0]; w.Binding != ingest.BindingSecret {
		t.Errorf("binding %q, want %q", w.Binding, ingest.BindingSecret)
	}
	if strings.Contains(lb.String(), s.Config().Secret) {
		t.Error("the secret is in the worker's log")
	}
}
