package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered schema change, from migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded migrations in order. The files are part of
// the binary, so a gap or a bad name is a build mistake and panics in tests.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration file %q: want NNNN_name.sql", name)
		}
		if v != len(ms)+1 {
			return nil, fmt.Errorf("migration file %q: version %d, want %d", name, v, len(ms)+1)
		}
		b, err := fs.ReadFile(migrationFS, path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	return ms, nil
}

// SchemaVersion is the schema version this build creates and understands.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		panic(err)
	}
	return len(ms)
}

const schemaVersionDDL = `CREATE TABLE IF NOT EXISTS schema_version (
	version INTEGER PRIMARY KEY,
	applied_at TEXT NOT NULL
)`

// migrate brings the file up to the newest version, one transaction per
// migration, and refuses a file from a newer version.
func (s *Store) migrate(ctx context.Context) error {
	return s.migrateTo(ctx, -1)
}

// migrateTo applies migrations up to version target (-1: all of them).
func (s *Store) migrateTo(ctx context.Context, target int) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if target < 0 || target > len(ms) {
		target = len(ms)
	}
	if _, err := s.w.ExecContext(ctx, schemaVersionDDL); err != nil {
		return s.wrap("create schema_version", err)
	}
	var cur int
	if err := s.w.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&cur); err != nil {
		return s.wrap("read schema version", err)
	}
	if cur > len(ms) {
		return fmt.Errorf("store: %s: %w: database schema version %d is newer than this ntp-collector supports (%d); upgrade ntp-collector",
			s.path, ErrNewerSchema, cur, len(ms))
	}
	for _, m := range ms[cur:target] {
		start := time.Now()
		applied, err := s.apply(ctx, m)
		if err != nil {
			return err
		}
		if !applied {
			continue
		}
		s.log.Info("database migrated", "path", s.path, "version", m.version, "migration", m.name, "duration", time.Since(start))
	}
	return nil
}

// migrationStep is the Go part of a migration, run after its SQL in the
// same transaction, for what SQL cannot do; nil for most.
func migrationStep(version int) func(context.Context, *sql.Tx) error {
	switch version {
	case 8:
		return backfillDays
	}
	return nil
}

// apply runs one migration and records it, in one transaction. It reports
// false when the file already had it.
func (s *Store) apply(ctx context.Context, m migration) (bool, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, s.wrap("begin migration "+m.name, err)
	}
	defer tx.Rollback()
	// Another process may have migrated the file since it was read; the
	// IMMEDIATE transaction holds the write lock, so this answer is final.
	var cur int
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&cur); err != nil {
		return false, s.wrap("read schema version", err)
	}
	if cur >= m.version {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, s.wrap("apply migration "+m.name, err)
	}
	if step := migrationStep(m.version); step != nil {
		if err := step(ctx, tx); err != nil {
			return false, fmt.Errorf("store: %s: apply migration %s: %w", s.path, m.name, err)
		}
	}
	now := formatTime(time.Now())
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", m.version, now); err != nil {
		return false, s.wrap("record migration "+m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, s.wrap("commit migration "+m.name, err)
	}
	return true, nil
}
