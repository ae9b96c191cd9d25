package store

// The database holds every client address the monitored servers answered:
// its files are the service user's alone. SQLite creates a new database
// 0644 less the umask, and gives the -wal and -shm files the database
// file's own mode (it sets that mode on them whatever the umask). So Open
// creates a new database file itself, 0600, before SQLite sees it, and
// takes away from an existing one (made by an older version, or copied in)
// the rights of other users; the directory it creates is 0750.

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// Modes of what Open creates.
const (
	dirMode  fs.FileMode = 0o750
	fileMode fs.FileMode = 0o600
)

// createPrivate creates the database file at path, empty and 0600, unless
// it exists. SQLite takes an empty file for a new database.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// restrictOthers takes read and write access away from other users on the
// database and its -wal and -shm files, where they have any. A file that
// cannot be changed (another owner, a read-only mount) is logged and left.
func restrictOthers(path string, log *slog.Logger) {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o007 == 0 {
			continue
		}
		mode := fi.Mode().Perm() &^ 0o007
		if err := os.Chmod(p, mode); err != nil {
			log.Warn("database file is readable by every user and its mode cannot be changed", "path", p,
				"mode", fmt.Sprintf("%04o", fi.Mode().Perm()), "err", err)
			continue
		}
		log.Warn("database file was readable by every user; other users' access removed", "path", p,
			"mode", fmt.Sprintf("%04o", mode), "was", fmt.Sprintf("%04o", fi.Mode().Perm()))
	}
}
