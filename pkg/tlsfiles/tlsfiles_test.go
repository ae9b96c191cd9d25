package tlsfiles_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/syncbuf"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testpki"
	"github.com/ntp-monitor/ntp-monitor/pkg/tlsfiles"
)

func TestLoadCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "CA")
	good := ca.Server(t, "collector.test")
	other := ca.Server(t, "other.test")
	expired := ca.Issue(t, testpki.Template{CommonName: "old.test", Server: true, NotAfter: time.Now().Add(-time.Minute)})
	notYet := ca.Issue(t, testpki.Template{CommonName: "new.test", Server: true, NotBefore: time.Now().Add(time.Hour)})
	gc, gk := good.Write(t, dir, "good")
	_, ok := other.Write(t, dir, "other")
	ec, ek := expired.Write(t, dir, "expired")
	nc, nk := notYet.Write(t, dir, "notyet")
	tests := []struct {
		name, cert, key string
		want            error  // errors.Is, when set
		wantText        string // in the message otherwise
	}{
		{"good", gc, gk, nil, ""},
		{"key of another certificate", gc, ok, nil, "private key does not match"},
		{"expired", ec, ek, tlsfiles.ErrExpired, ""},
		{"not valid yet", nc, nk, tlsfiles.ErrExpired, ""},
		{"missing file", filepath.Join(dir, "absent.crt"), gk, nil, "no such file"},
		{"key as certificate", gk, gk, nil, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tlsfiles.LoadCertificate(tt.cert, tt.key)
			switch {
			case tt.want == nil && tt.wantText == "":
				if err != nil {
					t.Fatal(err)
				}
				if got := c.Current().Leaf.Subject.CommonName; got != "collector.test" {
					t.Errorf("leaf %q", got)
				}
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("error %v, want %v", err, tt.want)
			case tt.wantText != "" && (err == nil || !strings.Contains(err.Error(), tt.wantText)):
				t.Errorf("error %v, want one saying %q", err, tt.wantText)
			}
		})
	}
}

// A change of the files is picked up; a reload that fails keeps the
// certificate in use.
func TestCertificateReloadIfChanged(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "CA")
	certFile, keyFile := ca.Server(t, "one.test").Write(t, dir, "server")
	c, err := tlsfiles.LoadCertificate(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if tried, err := c.ReloadIfChanged(); tried || err != nil {
		t.Fatalf("unchanged files: tried %v, %v", tried, err)
	}
	ca.Server(t, "two.test").Write(t, dir, "server")
	if tried, err := c.ReloadIfChanged(); !tried || err != nil {
		t.Fatalf("changed files: tried %v, %v", tried, err)
	}
	if got := tlsfiles.Identity(c.Current().Leaf); got != "two.test" {
		t.Fatalf("after the change: %s, want two.test", got)
	}
	// A certificate written without its new key: refused, two.test stays.
	os.WriteFile(certFile, ca.Server(t, "three.test").CertPEM, 0o600)
	if tried, err := c.ReloadIfChanged(); !tried || err == nil {
		t.Fatalf("mismatched files: tried %v, %v", tried, err)
	}
	if got := tlsfiles.Identity(c.Current().Leaf); got != "two.test" {
		t.Errorf("after a failed reload: %s, want two.test", got)
	}
}

func TestPool(t *testing.T) {
	dir := t.TempDir()
	a, b := testpki.NewCA(t, "A"), testpki.NewCA(t, "B")
	path := a.WriteCA(t, dir, "ca")
	p, err := tlsfiles.LoadPool(path)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Current().Equal(a.Pool()) {
		t.Fatal("pool is not the CA's")
	}
	os.WriteFile(path, append(bytes.Clone(a.CertPEM), b.CertPEM...), 0o600)
	if tried, err := p.ReloadIfChanged(); !tried || err != nil {
		t.Fatalf("reload: %v %v", tried, err)
	}
	both := a.Pool()
	both.AddCert(b.Cert)
	if !p.Current().Equal(both) {
		t.Error("pool after the reload does not hold both CAs")
	}
	os.WriteFile(path, []byte("not PEM"), 0o600)
	if _, err := p.ReloadIfChanged(); !errors.Is(err, tlsfiles.ErrNoCertificates) {
		t.Errorf("reload of a file without certificates: %v", err)
	}
	if !p.Current().Equal(both) {
		t.Error("a failed reload changed the pool")
	}
	if _, err := tlsfiles.LoadPool(path); !errors.Is(err, tlsfiles.ErrNoCertificates) {
		t.Errorf("LoadPool of a file without certificates: %v", err)
	}
}

// Watch reloads on a file change and on a signal, and says so in the log;
// a failed reload is logged with its reason.
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "CA")
	certFile, keyFile := ca.Server(t, "one.test").Write(t, dir, "server")
	c, err := tlsfiles.LoadCertificate(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hup := make(chan os.Signal, 1)
	done := make(chan struct{})
	go func() { defer close(done); tlsfiles.Watch(ctx, log, 10*time.Millisecond, hup, c) }()

	ca.Server(t, "two.test").Write(t, dir, "server")
	waitFor(t, "the changed file in use", func() bool { return tlsfiles.Identity(c.Current().Leaf) == "two.test" })

	// A signal reloads whatever the files look like: here a broken key,
	// which is refused.
	os.WriteFile(keyFile, []byte("garbage"), 0o600)
	hup <- syscall.SIGHUP
	waitFor(t, "the failed reload logged", func() bool { return strings.Contains(logs.String(), "TLS reload failed") })
	if got := tlsfiles.Identity(c.Current().Leaf); got != "two.test" {
		t.Errorf("after a failed reload: %s", got)
	}
	ca.Server(t, "three.test").Write(t, dir, "server")
	hup <- syscall.SIGHUP
	waitFor(t, "the reload on SIGHUP", func() bool { return tlsfiles.Identity(c.Current().Leaf) == "three.test" })
	if !strings.Contains(logs.String(), "signal=hangup") {
		t.Errorf("the log does not say the signal caused the reload:\n%s", logs)
	}
	cancel()
	<-done
}

func TestIdentity(t *testing.T) {
	ca := testpki.NewCA(t, "CA")
	tests := []struct {
		tmpl                 testpki.Template
		identity, serverName string
	}{
		{testpki.Template{CommonName: "worker-1", Names: []string{"w1.example"}}, "worker-1", "w1.example"},
		{testpki.Template{Names: []string{"w2.example", "w2b.example"}}, "w2.example", "w2.example"},
		{testpki.Template{Names: []string{"192.0.2.7"}}, "192.0.2.7", "192.0.2.7"},
		{testpki.Template{CommonName: "only-cn"}, "only-cn", "only-cn"},
	}
	for _, tt := range tests {
		c := ca.Issue(t, tt.tmpl).Cert
		if got := tlsfiles.Identity(c); got != tt.identity {
			t.Errorf("Identity(%+v) = %q, want %q", tt.tmpl, got, tt.identity)
		}
		if got := tlsfiles.ServerName(c); got != tt.serverName {
			t.Errorf("ServerName(%+v) = %q, want %q", tt.tmpl, got, tt.serverName)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
