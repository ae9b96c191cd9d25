package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors of the store, for errors.Is. Open, Commit and the other writers
// wrap the first five around SQLite's or the operating system's error, with
// the file, the operation and a hint at the remedy (see wrap): they are the
// faults an operator can mend.
var (
	// ErrNewerSchema: the file was written by a newer ntp-collector.
	ErrNewerSchema = errors.New("database schema is newer than supported")
	// ErrCorrupt: the file is not a SQLite database or is damaged.
	ErrCorrupt = errors.New("database file is corrupted or not a SQLite database")
	// ErrReadOnly: the database file or its directory cannot be written.
	ErrReadOnly = errors.New("database is not writable")
	// ErrDiskFull: the file system has no room left.
	ErrDiskFull = errors.New("disk full")
	// ErrLocked: another connection or process held the database lock for
	// longer than Options.BusyTimeout.
	ErrLocked = errors.New("database locked")

	// ErrSeqRange: a worker's seq does not fit SQLite's signed 64-bit
	// integer; Commit refuses the batch.
	ErrSeqRange = errors.New("seq above 9223372036854775807")
	// ErrCleanupBefore: Cleanup was given a zero cutoff time.
	ErrCleanupBefore = errors.New("store: cleanup needs a cutoff time")
	// ErrBadCursor: ParseCursor or ListClients was given a cursor that is
	// malformed, of another format or of another sort order.
	ErrBadCursor = errors.New("bad cursor")
	// ErrSeriesQuery: a series read with a step that is not a positive
	// multiple of a minute, or a from after its to.
	ErrSeriesQuery = errors.New("store: bad series range")
	// ErrSeriesPoints: a series read of more than MaxSeriesPoints points
	// per interface.
	ErrSeriesPoints = errors.New("store: too many series points")
)

// wrap adds the file and operation to err and, for the faults an operator
// can fix, one of the package's sentinel errors and a hint.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	dir := filepath.Dir(s.path)
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("store: %s: %s: %w (move the file aside to start a new database, or restore a backup): %w", s.path, op, ErrCorrupt, err)
		case sqlite3.SQLITE_FULL:
			return fmt.Errorf("store: %s: %s: %w on %s (free space; nothing of this transaction was written): %w", s.path, op, ErrDiskFull, dir, err)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("store: %s: %s: %w (another process, such as an sqlite3 shell in a transaction, holds it): %w", s.path, op, ErrLocked, err)
		case sqlite3.SQLITE_READONLY:
			return fmt.Errorf("store: %s: %s: %w (check the permissions and mount of the file and its directory): %w", s.path, op, ErrReadOnly, err)
		case sqlite3.SQLITE_CANTOPEN:
			if !dirWritable(dir) {
				return fmt.Errorf("store: %s: %s: %w: directory %s cannot be written: %w", s.path, op, ErrReadOnly, dir, err)
			}
		case sqlite3.SQLITE_IOERR:
			if noSpaceLeft(dir) {
				return fmt.Errorf("store: %s: %s: %w on %s (free space; nothing of this transaction was written): %w", s.path, op, ErrDiskFull, dir, err)
			}
		}
	}
	return fmt.Errorf("store: %s: %s: %w", s.path, op, classifyFSErr(err))
}

// classifyFSErr tags operating-system errors with the package's sentinels.
func classifyFSErr(err error) error {
	switch {
	case errors.Is(err, syscall.EROFS), errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w: %w", ErrReadOnly, err)
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	return err
}

// dirWritable reports whether a file can be created in dir; it is the only
// test that also holds for root and for read-only mounts.
func dirWritable(dir string) bool {
	f, err := os.CreateTemp(dir, ".ntp-collector-probe-*")
	if err != nil {
		return false
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return true
}

// noSpaceLeft reports whether the file system holding dir is out of space.
// SQLite reports some failed writes (growing the shared-memory index, an
// fsync) as an I/O error rather than SQLITE_FULL, so the file system is asked.
func noSpaceLeft(dir string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return false
	}
	return st.Bavail*uint64(st.Bsize) < 64<<10
}
