package pgtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// CreateDB creates a new, empty database for the test, owned by the
// superuser, and returns its URL (see DBURL). The database is dropped when
// the test ends, if the server still runs then.
func (s *Server) CreateDB(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("t%d_%s", s.dbs.Add(1), identifier(tb.Name()))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// One statement per psql -c: CREATE DATABASE cannot run inside the
	// transaction of a multi-statement string.
	if _, err := s.Exec(ctx, "postgres", "CREATE DATABASE "+name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if s.PID() == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := s.Exec(ctx, "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("pgtest: %v", err)
		}
	})
	return s.DBURL(name)
}

// identifier turns a test name into the lower-case part of a database
// name that needs no quoting, short enough for PostgreSQL's 63 bytes with
// the prefix CreateDB adds.
func identifier(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() == 48 {
			break
		}
	}
	return b.String()
}

// Exec runs one SQL statement in database db as the superuser, through
// psql over the Unix socket, and returns what it printed: rows unaligned,
// without headers, one a line. It is for setting up what a test needs
// (roles, grants, databases), not for the code under test.
func (s *Server) Exec(ctx context.Context, db, sql string) (string, error) {
	out, err := s.run(ctx, "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", s.dir, "-p", fmt.Sprint(s.port), "-U", "postgres", "-d", db, "-c", sql)
	return strings.TrimSpace(string(out)), err
}
