package pgtest_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pgtest"
)

// pg is the server the tests of this package share, as a package that runs
// its suite against PostgreSQL would; the tests of faults take their own.
var pg = pgtest.Shared{Options: pgtest.Options{NoFsync: true}}

func TestMain(m *testing.M) { os.Exit(pg.Main(m)) }

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// value runs a query that returns one text value.
func value(t *testing.T, conn *pgx.Conn, sql string) string {
	t.Helper()
	var v string
	if err := conn.QueryRow(context.Background(), sql).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func TestServer(t *testing.T) {
	srv := pgtest.New(t, pgtest.Options{})
	for _, url := range []string{srv.URL(), srv.SocketURL("postgres")} {
		conn := connect(t, url)
		if got := value(t, conn, "SELECT 1::text"); got != "1" {
			t.Errorf("%s: SELECT 1 = %q", url, got)
		}
	}
	conn := connect(t, srv.URL())
	for setting, want := range map[string]string{
		"fsync":            "on",
		"listen_addresses": "127.0.0.1",
		"port":             strconv.Itoa(srv.Port()),
		"server_encoding":  "UTF8",
		"lc_collate":       "C",
		"TimeZone":         "UTC",
		"is_superuser":     "on",
	} {
		if got := value(t, conn, "SHOW "+setting); got != want {
			t.Errorf("SHOW %s = %q, want %q", setting, got, want)
		}
	}
	if !strings.HasPrefix(srv.URL(), fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?", srv.Port())) {
		t.Errorf("URL() = %s", srv.URL())
	}

	// PostgreSQL refuses root; as root the kit runs it as another user,
	// who owns the server's directory.
	uid := processUID(t, srv.PID())
	if os.Geteuid() == 0 && uid == 0 {
		t.Errorf("postmaster %d runs as root", srv.PID())
	}
	if os.Geteuid() != 0 && uid != os.Geteuid() {
		t.Errorf("postmaster %d runs as uid %d, want the caller's %d", srv.PID(), uid, os.Geteuid())
	}
	fi, err := os.Stat(srv.SocketDir())
	if err != nil {
		t.Fatal(err)
	}
	if owner := pgtest.FileUID(fi); owner != uid {
		t.Errorf("%s belongs to uid %d, the server runs as %d", srv.SocketDir(), owner, uid)
	}
}

// processUID returns the real user ID of a process.
func processUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
			uid, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return uid
		}
	}
	t.Fatalf("/proc/%d/status: no Uid line", pid)
	return 0
}

func TestCreateDB(t *testing.T) {
	srv := pg.Server(t)
	var first string
	t.Run("two", func(t *testing.T) {
		first = srv.CreateDB(t)
		second := srv.CreateDB(t)
		if first == second {
			t.Fatalf("CreateDB returned %s twice", first)
		}
		a, b := connect(t, first), connect(t, second)
		ctx := context.Background()
		if _, err := a.Exec(ctx, "CREATE TABLE client (ip inet PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		if got := value(t, a, "SELECT coalesce(to_regclass('client')::text, '')"); got != "client" {
			t.Errorf("the table is not in the database it was made in: %q", got)
		}
		if got := value(t, b, "SELECT coalesce(to_regclass('client')::text, '')"); got != "" {
			t.Errorf("the other database has the table too: %q", got)
		}
		a.Close(ctx)
		b.Close(ctx)
	})
	name := first[strings.LastIndexByte(first, '/')+1 : strings.IndexByte(first, '?')]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := srv.Exec(ctx, "postgres", "SELECT count(*) FROM pg_database WHERE datname = '"+name+"'")
	if err != nil {
		t.Fatal(err)
	}
	if out != "0" {
		t.Errorf("database %s still there after its test ended (count %s)", name, out)
	}
}

// Tests that share the server see the same one, each in its database, with
// the shared Options.
func TestShared(t *testing.T) {
	var servers []*pgtest.Server
	var urls []string
	for i := range 2 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			srv := pg.Server(t)
			servers = append(servers, srv)
			url := srv.CreateDB(t)
			urls = append(urls, url)
			if got := value(t, connect(t, url), "SHOW fsync"); got != "off" {
				t.Errorf("SHOW fsync = %q with NoFsync", got)
			}
		})
	}
	if len(servers) != 2 || servers[0] != servers[1] {
		t.Errorf("the tests got servers %p, want one", servers)
	}
	if len(urls) != 2 || urls[0] == urls[1] {
		t.Errorf("the tests got databases %q, want two", urls)
	}
}

func TestRestart(t *testing.T) {
	srv := pgtest.New(t, pgtest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, srv.CreateDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "CREATE TABLE session (seq bigint); INSERT INTO session VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	var backend int
	if err := pool.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		t.Fatal(err)
	}
	before := srv.PID()
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if after := srv.PID(); after == 0 || after == before {
		t.Errorf("postmaster %d before the restart, %d after", before, after)
	}
	// The pool's connection was ended by the restart: a query may fail
	// once or twice until the pool has a new one.
	var n, again int
	var last error
	for range 50 {
		if last = pool.QueryRow(ctx, "SELECT count(*), pg_backend_pid() FROM session").Scan(&n, &again); last == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last != nil {
		t.Fatalf("the pool never reconnected: %v\n%s", last, srv.Log())
	}
	if n != 1 {
		t.Errorf("%d rows after the restart, want the 1 committed before", n)
	}
	if again == backend {
		t.Errorf("same backend %d after the restart: the pool did not reconnect", backend)
	}
}

func TestStopStart(t *testing.T) {
	srv := pgtest.New(t, pgtest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url := srv.CreateDB(t)
	conn := connect(t, url)
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	before := srv.PID()
	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if pid := srv.PID(); pid != 0 {
		t.Errorf("PID() = %d with the server stopped", pid)
	}
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	if c, err := pgx.Connect(cctx, url); err == nil {
		c.Close(ctx)
		t.Errorf("connected to a stopped server")
	}
	ccancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if after := srv.PID(); after == 0 || after == before {
		t.Errorf("postmaster %d before the stop, %d after the start", before, after)
	}
	if got := value(t, connect(t, url), "SELECT x::text FROM kept"); got != "42" {
		t.Errorf("after stop and start: %q, want the 42 committed before", got)
	}
}
