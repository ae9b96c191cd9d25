package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/leftover"
)

// kit names pgtest's claims (package leftover).
const kit = "pgtest"

// Options configures a server. The zero value is a server with PostgreSQL's
// defaults, durable writes included.
type Options struct {
	// NoFsync turns fsync, synchronous_commit and full_page_writes off and
	// makes initdb skip its final sync: much faster writes, for tests that
	// do not kill the server and count on what it wrote.
	NoFsync bool
	// User is the system user the server runs as when the test runs as
	// root; empty means ntpmon-test, or nobody when that is missing.
	User string
	// Settings holds more postgresql.conf lines, e.g. "max_connections = 20".
	Settings []string
}

// Server is a PostgreSQL server that belongs to a test (New) or to the
// tests of a package (Shared). Its methods are safe for concurrent use,
// except Start, Stop and Restart, which a test calls from one goroutine.
type Server struct {
	dir  string // owned by the server's user: the socket, the log
	data string // the cluster, dir/data
	log  string // the server's log, dir/server.log
	port int
	bin  string
	cred *syscall.Credential
	rec  *leftover.Record

	dbs atomic.Int64 // databases made by CreateDB, for their names

	closeOnce sync.Once
	closeErr  error
}

// New starts a server for the test and stops and removes it when the test
// ends. It skips the test when PostgreSQL is not installed or no user can
// run it, and fails the test when the server does not start.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := launch(opts, tb.Logf)
	if errors.Is(err, ErrNoPostgres) || errors.Is(err, ErrNoUser) {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.close(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return s
}

// launch reaps what dead test binaries left, then makes and starts a
// server. On error nothing of the new server is left.
func launch(opts Options, logf func(format string, args ...any)) (s *Server, err error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, err := credential(opts.User)
	if err != nil {
		return nil, err
	}
	if reaped, err := leftover.Reap(kit, removeSegment); len(reaped) > 0 || err != nil {
		logf("pgtest: removed the servers dead test processes left behind: %v (errors: %v)", reaped, err)
	}
	// A short path: the socket's, dir/.s.PGSQL.PORT, must fit in 107
	// bytes, and t.TempDir's can be longer (and its parents are root's
	// alone).
	dir, err := os.MkdirTemp("", "ntpm-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	rec, err := leftover.Claim(kit, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s = &Server{
		dir:  dir,
		data: filepath.Join(dir, "data"),
		log:  filepath.Join(dir, "server.log"),
		bin:  bin,
		cred: cred,
		rec:  rec,
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.close())
		}
	}()
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return s, fmt.Errorf("pgtest: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	initdb := []string{"-D", s.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-instructions"}
	if opts.NoFsync {
		initdb = append(initdb, "--no-sync")
	}
	if _, err := s.run(ctx, "initdb", initdb...); err != nil {
		return s, err
	}
	// pgtest.conf holds the settings, included from postgresql.conf so
	// that every later start and restart uses them.
	f, err := os.OpenFile(filepath.Join(s.data, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return s, fmt.Errorf("pgtest: %w", err)
	}
	_, err = fmt.Fprintf(f, "\ninclude 'pgtest.conf'\n")
	if err := errors.Join(err, f.Close()); err != nil {
		return s, fmt.Errorf("pgtest: %w", err)
	}
	// Another process may take the free port before the server binds
	// it: try another.
	for attempt := 0; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			return s, err
		}
		if err := s.writeConf(opts); err != nil {
			return s, err
		}
		before := s.logSize()
		err = s.Start(ctx)
		if err == nil {
			return s, nil
		}
		if attempt == 4 || !strings.Contains(s.logSince(before), "could not bind") {
			return s, err
		}
	}
}

// writeConf writes pgtest.conf, owned by the server's user like the rest
// of the cluster.
func (s *Server) writeConf(opts Options) error {
	conf := []string{
		"listen_addresses = '127.0.0.1'",
		fmt.Sprintf("port = %d", s.port),
		"unix_socket_directories = '" + s.dir + "'",
		// Dynamic shared memory in files under the cluster, not in
		// /dev/shm, where a killed server's segments would stay.
		"dynamic_shared_memory_type = mmap",
	}
	if opts.NoFsync {
		conf = append(conf, "fsync = off", "synchronous_commit = off", "full_page_writes = off")
	}
	conf = append(conf, opts.Settings...)
	path := filepath.Join(s.data, "pgtest.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if s.cred != nil {
		if err := os.Chown(path, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	return nil
}

// freePort returns a TCP port of 127.0.0.1 that nothing listened on a
// moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// run runs one of PostgreSQL's programs as the server's user, in the
// server's directory, with an environment of its own: nothing of the
// test's PG* variables, the C locale and UTC.
func (s *Server) run(ctx context.Context, program string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, program), args...)
	cmd.Dir = s.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "TZ=UTC", "HOME=" + s.dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	// pg_ctl sends the server's output to the log (-l), so the server
	// never holds these pipes open.
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("pgtest: %s %s: %w: %s", program, strings.Join(args, " "), err, bytes.TrimSpace(out.Bytes()))
	}
	return out.Bytes(), nil
}

// pgctl runs pg_ctl on the cluster and adds the server log's new lines to
// an error, since pg_ctl's own message rarely says why.
func (s *Server) pgctl(ctx context.Context, args ...string) error {
	before := s.logSize()
	_, err := s.run(ctx, "pg_ctl", append([]string{"-D", s.data, "-l", s.log, "-w", "-t", "60"}, args...)...)
	if err != nil {
		return fmt.Errorf("%w\nserver log:\n%s", err, s.logSince(before))
	}
	return nil
}

// Start starts the stopped server, on the same port and socket, and waits
// until it accepts connections.
func (s *Server) Start(ctx context.Context) error {
	return s.pgctl(ctx, "start")
}

// Stop shuts the server down (pg_ctl stop -m fast: connections are ended,
// what was committed stays) and waits until it is gone.
func (s *Server) Stop(ctx context.Context) error {
	return s.pgctl(ctx, "-m", "fast", "stop")
}

// Restart stops the server as Stop does and starts it again (pg_ctl
// restart -m fast). Open connections are ended; clients must reconnect.
func (s *Server) Restart(ctx context.Context) error {
	return s.pgctl(ctx, "-m", "fast", "restart")
}

// PID returns the postmaster's process ID, 0 when the server is not running.
func (s *Server) PID() int {
	b, err := os.ReadFile(filepath.Join(s.data, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	pid, err := strconv.Atoi(string(bytes.TrimSpace(line)))
	if err != nil {
		return 0
	}
	// A server that was killed leaves its pid file: check that the
	// process is still the postmaster of this cluster.
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err != nil || cwd != s.data {
		return 0
	}
	return pid
}

// Port returns the TCP port the server listens on at 127.0.0.1.
func (s *Server) Port() int { return s.port }

// SocketDir returns the directory holding the server's Unix socket.
func (s *Server) SocketDir() string { return s.dir }

// URL returns the URL of the database "postgres" over TCP, as the
// superuser.
func (s *Server) URL() string { return s.DBURL("postgres") }

// DBURL returns the URL of database db over TCP, as the superuser:
// postgres://postgres@127.0.0.1:PORT/DB?sslmode=disable.
func (s *Server) DBURL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// SocketURL returns the URL of database db over the Unix socket, as the
// superuser, in the form pgx and libpq read.
func (s *Server) SocketURL(db string) string {
	return fmt.Sprintf("postgres://postgres@/%s?host=%s&port=%d&sslmode=disable", db, s.dir, s.port)
}

// Log returns the server's log so far, for a test's failure message.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

func (s *Server) logSize() int64 {
	fi, err := os.Stat(s.log)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func (s *Server) logSince(off int64) string {
	b, _ := os.ReadFile(s.log)
	if off > int64(len(b)) {
		off = 0
	}
	return string(b[off:])
}

// close stops the server at once (pg_ctl stop -m immediate), kills by PID
// whatever of it still runs, removes its shared memory segment and its
// directory. It is safe to call more than once.
func (s *Server) close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if s.PID() != 0 {
			// A failure is no reason to stop: what pg_ctl left is
			// killed below.
			_ = s.pgctl(ctx, "-m", "immediate", "stop")
		}
		leftover.KillUsing(s.dir)
		var errs []error
		if err := removeSegment(s.dir); err != nil {
			errs = append(errs, err)
		}
		if err := os.RemoveAll(s.dir); err != nil {
			errs = append(errs, fmt.Errorf("pgtest: %w", err))
		}
		if len(errs) == 0 {
			s.rec.Release()
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
