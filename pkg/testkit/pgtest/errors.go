package pgtest

import "errors"

// Errors of New and Shared.Server. Both make the test skip rather than
// fail, saying what to install.
var (
	// ErrNoPostgres means that no PostgreSQL server binaries (initdb,
	// pg_ctl, postgres, psql) were found: install the postgresql package
	// (make deps).
	ErrNoPostgres = errors.New("pgtest: PostgreSQL server binaries not found (make deps, or apt-get install postgresql; or set NTP_PGTEST_BINDIR)")

	// ErrNoUser means that the test runs as root and no unprivileged user
	// to run PostgreSQL as exists: make deps creates ntpmon-test.
	ErrNoUser = errors.New("pgtest: running as root and no unprivileged user to run PostgreSQL as (make deps creates ntpmon-test)")
)
