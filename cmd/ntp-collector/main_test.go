package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest/ingesttest"
	"github.com/ntp-monitor/ntp-monitor/pkg/sender"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/syncbuf"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ntp-collector-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "ntp-collector")
	out, err := exec.Command("go", "build", "-ldflags", stampFlags, "-o", bin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running ntp-collector.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *syncbuf.Buffer
	done   chan struct{}
	err    error
}

func run(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	return start(t, exec.Command(bin, args...), env)
}

// start runs cmd, an ntp-collector or a command that execs one, with env
// added to its environment, and kills it at the end of the test.
func start(t *testing.T, cmd *exec.Cmd, env []string) *proc {
	t.Helper()
	// Keep every test collector off the default HTTP port and the system's
	// PID and log directories; tests may override through env.
	own := t.TempDir()
	cmd.Env = append(os.Environ(), "NTP_HTTP_LISTEN=127.0.0.1:0",
		"NTP_PID_DIR="+filepath.Join(own, "pid"), "NTP_LOG_DIR="+filepath.Join(own, "log"))
	cmd.Env = append(cmd.Env, env...)
	p := &proc{t: t, cmd: cmd, stderr: &syncbuf.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		t.Logf("ntp-collector (pid %d) stderr:\n%s", cmd.Process.Pid, p.stderr.String())
	})
	return p
}

// serve starts the collector and waits until it accepts connections.
func serve(t *testing.T, db string, port int, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--db", db, "--ingestion-port", strconv.Itoa(port), "--log-level", "debug"}, extra...)
	p := run(t, nil, args...)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(20 * time.Second)
	for {
		nc, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			nc.Close()
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("ntp-collector exited before listening: %v\n%s", p.err, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ntp-collector not listening on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("ntp-collector still running after %s", timeout)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatalf("wait: %v", p.err)
	}
	return 0
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func countSessions(t *testing.T, db string) int64 {
	t.Helper()
	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int64
	err = st.ReadDB().QueryRow(`SELECT coalesce(sum(session_count + mode1_count + mode2_count + mode5_count + mode6_count + mode7_count), 0) FROM ntp_clients`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// reconnect dials until the collector answers.
func reconnect(t *testing.T, c *ingesttest.Client) uint64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		last, err := c.Connect(context.Background())
		if err == nil {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("reconnecting: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The collector is killed with SIGKILL in the middle of a stream and
// restarted on the same database; the worker reconnects and resends from the
// welcome's last_seq. Every session ends up in the store exactly once.
func TestSIGKILLMidStreamExactlyOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "data", "ntp_clients.db")
	port := freePort(t)
	// The sessions' capture times are fixed in the past: minute retention
	// is off so that the series keeps them whatever the date.
	args := []string{"--batch-size", "200", "--batch-interval", "50ms", "--series-minute-retention", "off"}
	p := serve(t, db, port, args...)

	const total, chunk, killAfter = 20000, 500, 8000
	// Ten minutes of shuffled capture times on two interfaces, so that
	// batches cut across several series buckets.
	ss := storetest.SeriesSessions(total, 3000, storetest.Base, 10*time.Minute, 20)
	c := ingesttest.New(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "w-kill", "eth0", "")
	reconnect(t, c)
	defer c.Close()
	killed, reconnected := false, false
	for i := 0; i < total; i += chunk {
		select {
		case <-c.Closed():
			// The welcome's last_seq is 0 when the kill came before the
			// first commit: a reconnect all the same.
			resumedFrom := reconnect(t, c)
			reconnected = true
			t.Logf("reconnected: welcome last_seq %d, %d sessions pending", resumedFrom, c.Pending())
		default:
		}
		for j := i; j < i+chunk; j++ {
			c.Send(&ss[j]) // a write to a dead collector fails; the session stays pending
		}
		c.Flush()
		if !killed && i+chunk >= killAfter {
			acked := c.Acked()
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			p.wait(10 * time.Second)
			killed = true
			t.Logf("SIGKILL after %d sessions sent, %d acknowledged", i+chunk, acked)
			if acked >= uint64(i+chunk) {
				t.Logf("everything was acknowledged before the kill; the test still checks the restart")
			}
			p = serve(t, db, port, args...)
		}
	}
	c.Flush()
	select {
	case <-c.Closed():
		reconnect(t, c)
		reconnected = true
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.WaitAcked(ctx, total); err != nil {
		t.Fatal(err)
	}
	if !reconnected {
		t.Error("the worker never reconnected after the kill")
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(20 * time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM %d, want 0", code)
	}
	if got := countSessions(t, db); got != total {
		t.Errorf("store holds %d sessions, want %d", got, total)
	}
	checkSeriesOnce(t, db, ss)
}

// SIGTERM stops accepting, drains the queue, commits, acknowledges and exits
// 0, even with a batch far from full.
func TestSIGTERMDrainsAndExitsZero(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ntp_clients.db")
	port := freePort(t)
	p := serve(t, db, port, "--batch-size", "1000000", "--batch-interval", "1h")
	c := ingesttest.New(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "w-term", "eth0", "")
	reconnect(t, c)
	defer c.Close()
	ss := storetest.Sessions(20000, 5000, 21)
	for i := range ss {
		c.Send(&ss[i])
	}
	c.Flush()
	time.Sleep(500 * time.Millisecond)
	began := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := p.wait(20 * time.Second)
	t.Logf("SIGTERM to exit with a 20,000-session batch open: %s", time.Since(began))
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitAcked(ctx, uint64(len(ss))); err != nil {
		t.Errorf("final ack: %v", err)
	}
	if got := countSessions(t, db); got != int64(len(ss)) {
		t.Errorf("store holds %d sessions, want %d", got, len(ss))
	}
}

// Start-up faults end the process with a non-zero code and one clear line.
func TestStartupFaults(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port

	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.db")
	if err := os.WriteFile(corrupt, bytes.Repeat([]byte("this is not a database "), 400), 0o600); err != nil {
		t.Fatal(err)
	}
	asDir := filepath.Join(dir, "isdir.db")
	if err := os.Mkdir(asDir, 0o700); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"port in use", nil, []string{"--db", filepath.Join(dir, "a.db"), "--ingestion-port", strconv.Itoa(takenPort)}, "address already in use"},
		{"corrupted database", nil, []string{"--db", corrupt, "--ingestion-port", "0"}, "corrupted"},
		{"database path is a directory", nil, []string{"--db", asDir, "--ingestion-port", "0"}, "is a directory"},
		{"bad log format", nil, []string{"--db", filepath.Join(dir, "b.db"), "--log-format", "xml"}, "--log-format"},
		{"port out of range", nil, []string{"--db", filepath.Join(dir, "c.db"), "--ingestion-port", "70000"}, "--ingestion-port 70000"},
		{"bad batch size from the environment", []string{"NTP_BATCH_SIZE=0"}, []string{"--db", filepath.Join(dir, "d.db")}, "--batch-size 0"},
		{"bad synchronous level", []string{"NTP_DB_SYNCHRONOUS=off"}, []string{"--db", filepath.Join(dir, "e.db")}, "--db-synchronous"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantStartupFailure(t, tc.env, tc.args, tc.want) })
	}
}

// wantStartupFailure runs serve with args and checks that it fails, its
// last stderr line saying want.
func wantStartupFailure(t *testing.T, env, args []string, want string) {
	t.Helper()
	p := run(t, env, append([]string{"serve"}, args...)...)
	if code := p.wait(20 * time.Second); code == 0 {
		t.Fatalf("exit code 0, want non-zero")
	}
	lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "ntp-collector: ") || !strings.Contains(last, want) {
		t.Errorf("last stderr line %q, want \"ntp-collector: …%s…\"", last, want)
	}
}

// A database in a directory that does not exist yet: the directory is made.
// In a read-only directory: a clear refusal.
func TestDatabaseDirectory(t *testing.T) {
	t.Run("missing directory is created", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "x", "y", "ntp_clients.db")
		port := freePort(t)
		p := serve(t, db, port)
		p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.wait(20 * time.Second); code != 0 {
			t.Errorf("exit code %d, want 0", code)
		}
		if _, err := os.Stat(db); err != nil {
			t.Error(err)
		}
	})
	t.Run("read-only directory", func(t *testing.T) {
		dir := t.TempDir()
		if os.Geteuid() == 0 {
			// Root ignores permission bits: a read-only mount is the
			// honest read-only directory.
			if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_RDONLY, "size=1m"); err != nil {
				t.Skipf("cannot mount a read-only tmpfs: %v", err)
			}
			t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
		} else if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		p := run(t, nil, "serve", "--db", filepath.Join(dir, "ntp_clients.db"), "--ingestion-port", "0")
		if code := p.wait(20 * time.Second); code == 0 {
			t.Fatal("exit code 0 with a read-only database directory")
		}
		if out := p.stderr.String(); !strings.Contains(out, "not writable") {
			t.Errorf("stderr does not say the database is not writable:\n%s", out)
		}
	})
}

// Every flag also reads its NTP_ environment variable.
func TestEnvironmentVariables(t *testing.T) {
	db := filepath.Join(t.TempDir(), "env.db")
	port := freePort(t)
	p := run(t, []string{"NTP_DB=" + db, "NTP_INGESTION_PORT=" + strconv.Itoa(port), "NTP_TOKEN=tok-env",
		"NTP_LOG_FORMAT=json", "NTP_BATCH_SIZE=5", "NTP_BATCH_INTERVAL=1h"}, "serve")
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c := ingesttest.New(addr, "w-env", "eth0", "tok-env")
	reconnect(t, c)
	defer c.Close()
	ss := storetest.Sessions(5, 5, 22)
	for i := range ss {
		c.Send(&ss[i])
	}
	c.Flush()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Acked with a one-hour interval: the batch closed at NTP_BATCH_SIZE.
	if err := c.WaitAcked(ctx, 5); err != nil {
		t.Fatal(err)
	}
	bad := ingesttest.New(addr, "w-env2", "eth0", "wrong")
	if _, err := bad.Connect(context.Background()); !errors.Is(err, ingesttest.ErrRefused) {
		t.Errorf("wrong token: %v, want a refusal", err)
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	if code := p.wait(20 * time.Second); code != 0 {
		t.Errorf("exit code after SIGINT %d, want 0", code)
	}
	if !strings.Contains(p.stderr.String(), `"msg":"ingestion listening"`) {
		t.Error("NTP_LOG_FORMAT=json did not give JSON logs")
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("NTP_DB not used: %v", err)
	}
}

// proxy relays TCP connections to a backend; cut drops every relayed
// connection at once, as a network failure would.
type proxy struct {
	ln      net.Listener
	backend string
	mu      sync.Mutex
	conns   []net.Conn
}

func newProxy(t *testing.T, backend string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, backend: backend}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", backend)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// The worker's connection drops while its sessions sit in the collector's
// open batch; the worker (pkg/sender, which forgets whatever a welcome
// covers) reconnects; then the collector dies before committing. The welcome
// must not have covered the uncommitted sessions, or they would be gone from
// both sides.
func TestReconnectThenSIGKILLBeforeCommit(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ntp_clients.db")
	port := freePort(t)
	backend := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := []string{"--batch-size", "1000000", "--batch-interval", "1h", "--series-minute-retention", "off"}
	p := serve(t, db, port, args...)
	px := newProxy(t, backend)

	snd := sender.New(sender.Config{Addr: px.addr(), WorkerID: sender.NewWorkerID(), Interface: "eth0", Block: true,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- snd.Run(ctx) }()
	defer func() { cancel(); <-runDone }()

	ss := storetest.Sessions(3000, 800, 23)
	for i := range 2000 {
		snd.Send(&ss[i])
	}
	waitUntil(t, "2000 sessions written", func() bool { return snd.Counters().Sent >= 2000 })
	time.Sleep(300 * time.Millisecond) // let the collector read them into its open batch
	px.cut()
	waitUntil(t, "the sender reconnected", func() bool { c := snd.Counters(); return c.Reconnects >= 1 && c.Connected })
	if c := snd.Counters(); c.Acked != 0 {
		t.Errorf("sender counts %d acknowledged before any commit", c.Acked)
	}

	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(10 * time.Second)
	p = serve(t, db, port, args...)
	for i := 2000; i < len(ss); i++ {
		snd.Send(&ss[i])
	}
	// Close the batch: a SIGTERM drains and commits; the sender gets the
	// acks and the next collector sees them committed.
	waitUntil(t, "the sender reconnected after the kill", func() bool { c := snd.Counters(); return c.Reconnects >= 2 && c.Connected })
	waitUntil(t, "every session resent", func() bool { return snd.Counters().Sent >= 2000+3000 })
	time.Sleep(300 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	flushCtx, flushCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer flushCancel()
	p = serve(t, db, port, args...)
	if err := snd.Flush(flushCtx); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-runDone
	runDone <- nil
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(20 * time.Second)
	if got := countSessions(t, db); got != int64(len(ss)) {
		t.Errorf("store holds %d sessions, want %d", got, len(ss))
	}
	checkSeriesOnce(t, db, ss)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
