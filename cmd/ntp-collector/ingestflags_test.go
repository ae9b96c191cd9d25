package main

import (
	"slices"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/testpki"
	"github.com/ntp-monitor/ntp-monitor/pkg/tlsfiles"
)

// The transport flags the supervisor gives the workers it starts, for every
// kind of listener.
func TestLocalWorkerArgs(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "CA")
	certFile, keyFile := ca.Server(t, "collector.example.net", "192.0.2.5").Write(t, dir, "collector")
	cert, err := tlsfiles.LoadCertificate(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		host   string
		cert   *tlsfiles.Certificate
		mutual bool
		want   []string
	}{
		{"plaintext on loopback: the worker's own default", "127.0.0.1", nil, false, nil},
		{"plaintext on every address: dialled on loopback", "0.0.0.0", nil, false, nil},
		{"plaintext on ::", "::", nil, false, nil},
		{"plaintext on localhost", "localhost", nil, false, nil},
		{"plaintext on an address of this host", "192.0.2.5", nil, false, []string{"--tls=false", "--insecure-plaintext"}},
		{"TLS", "0.0.0.0", cert, false, []string{"--tls", "--tls-ca=" + certFile, "--tls-server-name=collector.example.net"}},
		{"mutual TLS", "192.0.2.5", cert, true, []string{"--tls", "--tls-ca=" + certFile, "--tls-server-name=collector.example.net",
			"--tls-cert=" + certFile, "--tls-key=" + keyFile}},
	}
	for _, tt := range tests {
		if got := localWorkerArgs(tt.host, tt.cert, tt.mutual); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
