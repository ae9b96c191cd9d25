// Package pgtest runs real, throwaway PostgreSQL servers for tests.
//
// New runs initdb and pg_ctl from Debian's postgresql package (the newest
// major version under /usr/lib/postgresql, or NTP_PGTEST_BINDIR) in a new
// temp directory, and starts a server that listens on a Unix socket in that
// directory and on a free TCP port of 127.0.0.1, nowhere else. Every role
// is trusted on both (loopback only, for tests); the superuser is
// "postgres". The cluster is made with encoding UTF8, locale C (text sorts
// by byte, as in SQLite) and time zone UTC.
//
// PostgreSQL refuses to run as root, and the tests run as root: the server
// then runs as the system user ntpmon-test that make deps creates (or
// nobody when it is missing), with no supplementary groups, and the temp
// directory belongs to that user. Run as another user, the server runs as
// that user. When the PostgreSQL binaries are missing the test is skipped,
// naming the fix.
//
// The test's cleanup stops the server (pg_ctl stop -m immediate), kills
// what is left of it by PID and removes the directory, on every exit path.
// A test binary killed before its cleanups ran leaves a claim behind (see
// package leftover); the next New or Shared, in any test binary, kills that
// server and removes its directory and its shared memory segment.
//
// One server per test:
//
//	func TestStore(t *testing.T) {
//		srv := pgtest.New(t, pgtest.Options{})
//		url := srv.CreateDB(t) // postgres://postgres@127.0.0.1:PORT/DB?sslmode=disable
//		…
//		if err := srv.Restart(ctx); err != nil { … } // pg_ctl restart -m fast
//	}
//
// One server for every test of a package, each test in a database of its
// own, which is what suites that run against PostgreSQL should do: a
// server takes about a second to make, a database a few milliseconds.
//
//	var pg pgtest.Shared // or pgtest.Shared{Options: pgtest.Options{NoFsync: true}}
//
//	func TestMain(m *testing.M) { os.Exit(pg.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		url := pg.Server(t).CreateDB(t)
//		…
//	}
//
// The shared server starts when the first test asks for it, so that
// go test -run over other tests starts none, and Main stops it after the
// last test. Tests of faults (Stop, Start, Restart) take a server of their
// own with New: they would disturb every other test of a shared one.
//
// The package starts no driver: it hands out connection URLs, and runs the
// little SQL it needs itself (CREATE DATABASE, Exec) through psql. Tests
// connect with the driver the code under test uses.
package pgtest
