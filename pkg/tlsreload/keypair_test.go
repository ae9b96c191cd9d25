package tlsreload_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/certtest"
	"github.com/ntp-monitor/ntp-monitor/pkg/tlsreload"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// serve accepts TLS connections on a loopback port with kp's certificate
// and completes each handshake; it returns the address.
func serve(t *testing.T, kp *tlsreload.Keypair) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", kp.TLSConfig(tls.VersionTLS12))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.(*tls.Conn).Handshake()
			}()
		}
	}()
	return ln.Addr().String()
}

// served is the serial of the certificate a client verifying against ca
// is shown.
func served(t *testing.T, addr string, ca *certtest.CA) *big.Int {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber
}

// waitServed waits until the server shows the certificate with serial
// want.
func waitServed(t *testing.T, addr string, ca *certtest.CA, want *big.Int, poke func()) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for served(t, addr, ca).Cmp(want) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still the old certificate after 20 s")
		}
		if poke != nil {
			poke()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func run(t *testing.T, kp *tlsreload.Keypair) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- kp.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
}

func TestLoadRefusesBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.NewCA(t, "test CA")
	a := ca.Issue(t, dir, "a", "127.0.0.1")
	b := ca.Issue(t, dir, "b", "127.0.0.1")
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not PEM\n"), 0o600)
	for _, tc := range []struct {
		name, cert, key, want string
	}{
		{"missing certificate", filepath.Join(dir, "none.crt"), a.KeyFile, "no such file"},
		{"missing key", a.CertFile, filepath.Join(dir, "none.key"), "no such file"},
		{"key of another certificate", a.CertFile, b.KeyFile, "private key does not match public key"},
		{"not PEM", garbage, a.KeyFile, "failed to find any PEM data"},
		{"no key named", a.CertFile, "", "both a certificate file and a key file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tlsreload.Load(tc.cert, tc.key, tlsreload.Options{Logger: quiet})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestReloadOnFileChange: a renewed pair written over the old files is
// served without a restart; a key that does not match yet keeps the old
// certificate in use until the matching one arrives.
func TestReloadOnFileChange(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.NewCA(t, "test CA")
	first := ca.Issue(t, dir, "server", "127.0.0.1")
	kp, err := tlsreload.Load(first.CertFile, first.KeyFile, tlsreload.Options{Interval: 20 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, kp)
	run(t, kp)
	if got := served(t, addr, ca); got.Cmp(first.Cert.SerialNumber) != 0 {
		t.Fatalf("served serial %v, want %v", got, first.Cert.SerialNumber)
	}

	// Half a renewal: the certificate is new, the key still the old one.
	other := ca.Issue(t, t.TempDir(), "server", "127.0.0.1")
	b, _ := os.ReadFile(other.CertFile)
	os.WriteFile(first.CertFile, b, 0o600)
	time.Sleep(200 * time.Millisecond) // ten polls
	if got := served(t, addr, ca); got.Cmp(first.Cert.SerialNumber) != 0 {
		t.Fatalf("a mismatched pair replaced the certificate in use: serial %v", got)
	}
	// The key follows: the pair is complete and served.
	k, _ := os.ReadFile(other.KeyFile)
	os.WriteFile(first.KeyFile, k, 0o600)
	waitServed(t, addr, ca, other.Cert.SerialNumber, nil)

	// A renewal tool's usual way: new files renamed over the old ones.
	third := ca.Issue(t, dir, "server", "127.0.0.1")
	waitServed(t, addr, ca, third.Cert.SerialNumber, nil)
	if kp.Leaf().SerialNumber.Cmp(third.Cert.SerialNumber) != 0 {
		t.Errorf("Leaf is serial %v", kp.Leaf().SerialNumber)
	}
}

// TestReloadOnSIGHUP: with polling too slow to notice, SIGHUP reloads.
func TestReloadOnSIGHUP(t *testing.T) {
	// Caught here too, so that a signal sent before Run registers for it
	// cannot end the test process.
	hup := make(chan os.Signal, 16)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	dir := t.TempDir()
	ca := certtest.NewCA(t, "test CA")
	first := ca.Issue(t, dir, "server", "127.0.0.1")
	kp, err := tlsreload.Load(first.CertFile, first.KeyFile, tlsreload.Options{Interval: time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, kp)
	run(t, kp)
	second := ca.Issue(t, dir, "server", "127.0.0.1")
	if got := served(t, addr, ca); got.Cmp(first.Cert.SerialNumber) != 0 {
		t.Fatalf("reloaded before any signal: serial %v", got)
	}
	waitServed(t, addr, ca, second.Cert.SerialNumber, func() { syscall.Kill(os.Getpid(), syscall.SIGHUP) })
}
