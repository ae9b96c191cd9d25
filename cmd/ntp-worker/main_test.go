package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapgen"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/syncbuf"
	"github.com/ntp-monitor/ntp-monitor/pkg/wire"
)

// build compiles the command into a temporary directory, with more go
// build flags when given.
func build(t *testing.T, flags ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ntp-worker")
	args := append(append([]string{"build", "-buildvcs=false"}, flags...), "-o", bin, ".")
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runBin(t *testing.T, bin string, env []string, args ...string) (stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return errb.String(), code
}

// TestVersion: --version prints what make build stamps, and what a plain
// go build knows.
func TestVersion(t *testing.T) {
	const pkg = "github.com/ntp-monitor/ntp-monitor/pkg/buildinfo"
	goVersion := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	for _, tc := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"stamped", []string{"-ldflags", "-X " + pkg + ".version=v9.8.7-test -X " + pkg + ".commit=c0ffee -X " + pkg + ".date=2026-12-01T00:00:00Z"},
			"ntp-worker version v9.8.7-test (commit c0ffee, built 2026-12-01T00:00:00Z, " + goVersion + ")\n"},
		{"plain go build", nil, "ntp-worker version devel (commit unknown, built unknown, " + goVersion + ")\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(build(t, tc.flags...), "--version").Output()
			if err != nil || string(out) != tc.want {
				t.Errorf("--version: %q, %v; want %q", out, err, tc.want)
			}
		})
	}
}

// TestBadInput: every bad input fails at once with one line that names the
// cause and the fix.
func TestBadInput(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	notPcap := filepath.Join(dir, "notes.txt")
	os.WriteFile(notPcap, []byte("not a capture\n"), 0o644)
	tests := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"no interface", nil, nil, []string{"--interface", "--pcap-file"}},
		{"missing interface", nil, []string{"--interface", "nosuchif0"}, []string{"no such interface", "ip link"}},
		{"missing interface from env", []string{"NTP_INTERFACE=nosuchif1"}, nil, []string{`"nosuchif1"`, "no such interface"}},
		{"missing file", nil, []string{"--pcap-file", filepath.Join(dir, "absent.pcap")}, []string{"absent.pcap", "no such file"}},
		{"not a pcap", nil, []string{"--pcap-file", notPcap}, []string{"notes.txt", "not a pcap", "tcpdump -w"}},
		{"port out of range", nil, []string{"-i", "lo", "--port", "0"}, []string{"--port", "between 1 and 65535"}},
		{"port from env", []string{"NTP_PORT=70000"}, []string{"-i", "lo"}, []string{"--port 70000"}},
		{"timeout", nil, []string{"-i", "lo", "--timeout", "soon"}, []string{"--timeout", "seconds"}},
		{"timeout range", []string{"NTP_TIMEOUT=0"}, []string{"-i", "lo"}, []string{"--timeout", "between"}},
		{"snaplen", nil, []string{"-i", "lo", "--snaplen", "10"}, []string{"--snaplen", "between 64"}},
		{"buffer size", []string{"NTP_BUFFER_SIZE=1"}, []string{"-i", "lo"}, []string{"--buffer-size"}},
		{"max pending", []string{"NTP_MAX_PENDING=0"}, []string{"-i", "lo"}, []string{"--max-pending"}},
		{"spool", nil, []string{"-i", "lo", "--spool", "-1"}, []string{"--spool"}},
		{"stats interval", []string{"NTP_STATS_INTERVAL=1ms"}, []string{"-i", "lo"}, []string{"--stats-interval"}},
		{"ingestion port", []string{"NTP_INGESTION_PORT=0"}, []string{"-i", "lo"}, []string{"--ingestion-port"}},
		{"capture engine", nil, []string{"-i", "lo", "--capture-engine", "dpdk"}, []string{"--capture-engine", "afpacket, pcap"}},
		{"capture engine from env", []string{"NTP_CAPTURE_ENGINE=netmap"}, []string{"-i", "lo"}, []string{`"netmap"`}},
		{"block size not a page multiple", []string{"NTP_BLOCK_SIZE=5000"}, []string{"-i", "lo"}, []string{"--block-size 5000", "4096"}},
		{"block size beyond the buffer", nil, []string{"-i", "lo", "--buffer-size", "1048576", "--block-size", "2097152"}, []string{"--block-size", "--buffer-size"}},
		{"log level", []string{"NTP_LOG_LEVEL=loud"}, []string{"-i", "lo"}, []string{"--log-level", "debug, info, warn, error"}},
		{"log format", nil, []string{"-i", "lo", "--log-format", "xml"}, []string{"--log-format", "text, json"}},
		{"unknown flag", nil, []string{"--bogus"}, []string{"bogus", "--help"}},
		{"stray argument", nil, []string{"-i", "lo", "eth0"}, []string{`"eth0"`, "flag"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stderr, code := runBin(t, bin, tt.env, tt.args...)
			wantOneErrorLine(t, stderr, code, tt.want)
		})
	}
}

// wantOneErrorLine checks that the worker failed with one line on stderr
// that mentions every string in want.
func wantOneErrorLine(t *testing.T, stderr string, code int, want []string) {
	t.Helper()
	if code == 0 {
		t.Fatalf("exit 0, want a failure; stderr:\n%s", stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "ntp-worker: ") {
		t.Fatalf("want one error line, got:\n%s", stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("error %q does not mention %q", lines[0], w)
		}
	}
}

// TestNoCapturePermission drops the capture capabilities from the process
// (as root, through setpriv) and expects the explanation and the setcap fix.
func TestNoCapturePermission(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop capabilities with setpriv; run the tests as root")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	bin := build(t)
	stderr, code := runBin(t, setpriv, nil, "--bounding-set", "-net_raw,-net_admin", "--inh-caps", "-net_raw,-net_admin", bin, "-i", "lo")
	if code == 0 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	for _, w := range []string{"CAP_NET_RAW", "setcap cap_net_raw,cap_net_admin+eip"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("error %q does not mention %q", stderr, w)
		}
	}
}

// ackListener is a collector stand-in on a real socket: welcome, then an
// ack for the highest seq whenever the worker pauses.
func ackListener(t *testing.T) (addr string, sessions func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	count := make(chan int, 1)
	count <- 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				if _, err := r.ReadSlice('\n'); err != nil {
					return
				}
				c.Write(wire.AppendWelcome(nil, 0))
				dec := wire.NewDecoder()
				var m wire.Message
				var high uint64
				for {
					line, err := r.ReadSlice('\n')
					if err != nil {
						return
					}
					if dec.Decode(line, &m) != nil {
						t.Errorf("bad line %q", line)
						return
					}
					if m.Type == wire.TypeSession {
						high = m.Seq
						count <- <-count + 1
					}
					if r.Buffered() == 0 && high > 0 {
						c.Write(wire.AppendAck(nil, high))
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), func() int { n := <-count; count <- n; return n }
}

// TestPcapFileThroughEnv reads a capture named only by environment
// variables, delivers every session and exits 0.
func TestPcapFileThroughEnv(t *testing.T) {
	bin := build(t)
	path := filepath.Join(t.TempDir(), "capture.pcap")
	f, _ := os.Create(path)
	sum, err := pcapgen.Write(f, pcapgen.Config{Requests: 500, Clients: 50, IPv6Every: 2, UnansweredEvery: 10})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	addr, sessions := ackListener(t)
	host, port, _ := net.SplitHostPort(addr)
	stderr, code := runBin(t, bin, []string{
		"NTP_PCAP_FILE=" + path, "NTP_INGESTION_HOST=" + host, "NTP_INGESTION_PORT=" + port,
		"NTP_LOG_FORMAT=json", "NTP_SPOOL=64",
	})
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if got := sessions(); got != sum.Requests {
		t.Fatalf("collector got %d sessions, want %d", got, sum.Requests)
	}
	last := lastLine(stderr)
	for _, w := range []string{`"msg":"capture stopped"`, `"interface":"capture.pcap"`, `"sessions":500`, `"unanswered":50`, `"acked":500`, `"lost":0`} {
		if !strings.Contains(last, w) {
			t.Errorf("summary line %s lacks %s", last, w)
		}
	}
}

// TestUnreachableCollector: a live worker whose collector is down keeps
// capturing and retrying, and stops cleanly on SIGTERM.
func TestUnreachableCollector(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture on lo needs root (or CAP_NET_RAW); run the tests as root")
	}
	bin := build(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close() // nothing listens there now
	cmd := exec.Command(bin, "-i", "lo", "--ingestion-port", port, "--port", "1123")
	var errb syncbuf.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errb.String(), "connection refused") && time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("worker exited (%v) instead of retrying:\n%s", err, errb.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if !strings.Contains(errb.String(), "connection refused") {
		t.Fatalf("no retry logged:\n%s", errb.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("worker did not stop within 30 s of SIGTERM:\n%s", errb.String())
	}
	if !strings.Contains(lastLine(errb.String()), "capture stopped") {
		t.Fatalf("no summary line:\n%s", errb.String())
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
