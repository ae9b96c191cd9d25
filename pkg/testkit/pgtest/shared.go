package pgtest

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
)

// Shared is one server for all the tests of a package, started by the
// first test that asks for it and stopped by Main once the tests are done.
// Declare it at package level in a _test.go file and run the tests through
// its Main from TestMain (see the package documentation). The zero value is
// ready; set Options before Main runs.
type Shared struct {
	Options Options

	mu     sync.Mutex
	inMain bool
	srv    *Server
	err    error
}

// Main runs the tests and then stops the server, if one was started. It
// returns m.Run's exit code, or 1 when the server could not be removed.
func (sh *Shared) Main(m *testing.M) int {
	sh.mu.Lock()
	sh.inMain = true
	sh.mu.Unlock()
	code := m.Run()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.srv != nil {
		if err := sh.srv.close(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: shared server: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Server returns the shared server, starting it on the first call. The
// test is skipped when PostgreSQL is not installed, and fails when the
// server did not start (every later test then fails with the same error)
// or when Main is not running the tests.
func (sh *Shared) Server(tb testing.TB) *Server {
	tb.Helper()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !sh.inMain {
		// Without Main nothing would stop the server until the next
		// test binary reaps it.
		tb.Fatal("pgtest: Shared.Server called outside Shared.Main: add func TestMain(m *testing.M) { os.Exit(pg.Main(m)) }")
	}
	if sh.srv == nil && sh.err == nil {
		sh.srv, sh.err = launch(sh.Options, tb.Logf)
	}
	if errors.Is(sh.err, ErrNoPostgres) || errors.Is(sh.err, ErrNoUser) {
		tb.Skip(sh.err)
	}
	if sh.err != nil {
		tb.Fatal(sh.err)
	}
	return sh.srv
}
