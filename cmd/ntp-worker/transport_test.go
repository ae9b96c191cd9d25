package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapgen"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// nonLoopbackAddr is an address of this host that is not a loopback one,
// or "" when it has none.
func nonLoopbackAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	return ""
}

func writePcap(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "capture.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := pcapgen.Write(f, pcapgen.Config{Requests: 20, Clients: 5}); err != nil {
		t.Fatal(err)
	}
	return path
}

// The transport flags are checked before anything is opened: each mistake
// is one line that says what to change.
func TestTransportFlags(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty-token")
	os.WriteFile(empty, []byte("\n"), 0o600)
	tests := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"plaintext to another host", nil, []string{"-i", "lo", "--ingestion-host", "192.0.2.5", "--tls=false"},
			[]string{"refusing to send the token", "192.0.2.5:10000", "not a loopback address", "--insecure-plaintext"}},
		{"plaintext from the environment", []string{"NTP_TLS=false", "NTP_INGESTION_HOST=collector.example"}, []string{"-i", "lo"},
			[]string{"refusing to send the token", "collector.example:10000"}},
		{"tls and insecure", nil, []string{"-i", "lo", "--tls", "--insecure-plaintext"}, []string{"--tls and --insecure-plaintext"}},
		{"certificate without key", nil, []string{"-i", "lo", "--tls", "--tls-cert", "/nonexistent.crt"}, []string{"--tls-cert and --tls-key"}},
		{"CA with TLS off", nil, []string{"-i", "lo", "--tls-ca", "/x.pem", "--tls=false"}, []string{"--tls-ca", "TLS is off"}},
		{"CA file missing", []string{"NTP_TLS_CA=" + filepath.Join(dir, "absent.pem")}, []string{"-i", "lo", "--tls"}, []string{"--tls-ca", "no such file"}},
		{"token twice", nil, []string{"-i", "lo", "--token", "a", "--token-file", empty}, []string{"--token and --token-file"}},
		{"empty token file", []string{"NTP_TOKEN_FILE=" + empty}, []string{"-i", "lo"}, []string{"--token-file", "holds no secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stderr, code := runBin(t, bin, tt.env, tt.args...)
			wantOneErrorLine(t, stderr, code, tt.want)
		})
	}
}

// A worker told to use plaintext towards an address of this host that is
// not a loopback one refuses before it connects: the listener there sees
// nothing. With --insecure-plaintext it connects.
func TestPlaintextRefusedBeforeConnecting(t *testing.T) {
	bin := build(t)
	host := nonLoopbackAddr(t)
	if host == "" {
		t.Skip("this host has no non-loopback IPv4 address to listen on")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			accepted <- line
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	pcap := writePcap(t)
	stderr, code := runBin(t, bin, []string{"NTP_TOKEN=s3cret"}, "--pcap-file", pcap, "--ingestion-host", host, "--ingestion-port", port, "--tls=false")
	if code == 0 || !strings.Contains(stderr, "refusing to send the token") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	select {
	case line := <-accepted:
		t.Fatalf("the worker connected before refusing and sent %q", line)
	case <-time.After(200 * time.Millisecond):
	}

	// Allowed: it connects and sends its hello (the stand-in never
	// welcomes it, so the worker is stopped here).
	cmd := exec.Command(bin, "--pcap-file", pcap, "--ingestion-host", host, "--ingestion-port", port, "--insecure-plaintext")
	cmd.Env = append(os.Environ(), "NTP_TOKEN=s3cret")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	select {
	case line := <-accepted:
		if !strings.Contains(line, `"type":"hello"`) {
			t.Errorf("first line %q, want a hello", line)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the worker with --insecure-plaintext did not connect")
	}
}

// The token from --token-file reaches the collector's hello and is not on
// the worker's command line.
func TestTokenFile(t *testing.T) {
	bin := build(t)
	const tok = "t0ken-from-a-file"
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	hellos := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadBytes('\n')
		hellos <- string(line)
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	cmd := exec.Command(bin, "--pcap-file", writePcap(t), "--ingestion-port", port, "--token-file", path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var hello string
	select {
	case hello = <-hellos:
	case <-time.After(20 * time.Second):
		t.Fatal("no hello")
	}
	var m wire.Message
	if err := wire.NewDecoder().Decode([]byte(hello), &m); err != nil || m.Hello.Token != tok {
		t.Errorf("hello %q (%v): want token %q", hello, err, tok)
	}
	argv, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "cmdline"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(argv), tok) {
		t.Errorf("the token is on the command line: %q", argv)
	}
}
