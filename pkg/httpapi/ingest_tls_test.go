package httpapi

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/ingest/ingesttest"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testpki"
	"github.com/ntp-monitor/ntp-monitor/pkg/tlsfiles"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// Through a real ingestion server with mutual TLS: the worker's certificate
// name and binding, the refused sessions by reason and the plaintext peers
// show in the service statistics (valid against the spec) and in /metrics;
// a processing time of 1e308, refused, leaves the interface statistics
// whole (issue 10 found them answering 200 with an empty body).
func TestIngestionSecurityFigures(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "CA")
	certFile, keyFile := ca.Server(t, "collector.test").Write(t, dir, "collector")
	cert, err := tlsfiles.LoadCertificate(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := tlsfiles.LoadPool(ca.WriteCA(t, dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	m := NewMetrics()
	ln, err := ingest.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in := ingest.New(ingest.Config{Listener: ln, TLSCert: cert, TLSClientCAs: pool, BatchSize: 1, BatchInterval: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OnBatch: m.ObserveBatch}, st)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- in.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-served })
	ts := newTestServer(t, st, func(c *Config) { c.Ingest = in; c.Metrics = m })

	wc := ca.Client(t, "worker-1.test").TLS(t)
	c := ingesttest.New(ln.Addr().String(), "w-tls", "veth-test", "")
	c.Secret = "per-run-secret"
	c.TLS = &tls.Config{RootCAs: ca.Pool(), ServerName: "collector.test", Certificates: []tls.Certificate{wc}}
	if _, err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	good := sess("198.51.100.1", onIface("veth-test"))
	bad := sess("198.51.100.2", onIface("veth-test"))
	bad.Processing = 1e308
	if err := c.Send(&good); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(&bad); err != nil {
		t.Fatal(err)
	}
	c.Flush()
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	if err := c.WaitAcked(wctx, 2); err != nil {
		t.Fatal(err)
	}
	plain, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	plain.Write(wire.AppendHello(nil, &wire.Hello{Protocol: 1, WorkerID: "w-plain", Interface: "eth0"}))
	io.ReadAll(plain)
	plain.Close()

	_, router := loadSpec(t)
	v := &validator{t: t, router: router, ts: ts, seen: map[string]bool{}}
	v.check("GET", "/api/ntp/history/service/statistics", "", 200)
	v.check("GET", "/api/ntp/history/interfaces/statistics", "", 200)

	r := ts.do("GET", "/api/ntp/history/service/statistics", nil)
	sv := decode[serviceStatsResponse](t, r)
	if sv.Ingestion.SessionsRejected != 1 || sv.Ingestion.RejectedByReason["processing"] != 1 {
		t.Errorf("rejected %d, by reason %v; want 1 for processing", sv.Ingestion.SessionsRejected, sv.Ingestion.RejectedByReason)
	}
	if len(sv.Workers) != 1 || sv.Workers[0].TLSIdentity == nil || *sv.Workers[0].TLSIdentity != "worker-1.test" || sv.Workers[0].Binding != "certificate" {
		t.Errorf("workers %+v: want w-tls as worker-1.test, bound to its certificate", sv.Workers)
	}
	r = ts.do("GET", "/api/ntp/history/interfaces/statistics", nil)
	wantStatus(t, r, http.StatusOK)
	if is := decode[interfaceStatsResponse](t, r); len(is.Data) != 1 || is.Data[0].Sessions != 1 {
		t.Errorf("interface statistics %+v: want one interface with the valid session", is.Data)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		body := ts.do("GET", "/metrics", nil).Body.String()
		if strings.Contains(body, `ntp_ingest_rejected_total{reason="processing"} 1`) &&
			strings.Contains(body, `ntp_collector_processing_errors_total{kind="plaintext"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack the refused session or the plaintext peer:\n%s", grepLines(body, "rejected", "plaintext"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// grepLines keeps the lines of text that contain any of words.
func grepLines(text string, words ...string) string {
	var out []string
	for l := range strings.SplitSeq(text, "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
