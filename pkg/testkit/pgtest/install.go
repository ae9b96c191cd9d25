package pgtest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// programs are what a server needs from the PostgreSQL installation.
var programs = []string{"initdb", "pg_ctl", "postgres", "psql"}

// binDir returns the directory holding PostgreSQL's programs: the
// NTP_PGTEST_BINDIR environment variable when set, else the newest major
// version under /usr/lib/postgresql (Debian's layout), else the directory
// of pg_ctl on PATH.
func binDir() (string, error) {
	if d := os.Getenv("NTP_PGTEST_BINDIR"); d != "" {
		return d, hasPrograms(d)
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest first: "15" before "9.6", by number.
	slices.SortFunc(matches, func(a, b string) int {
		return majorOf(b) - majorOf(a)
	})
	for _, d := range matches {
		if hasPrograms(d) == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		d := filepath.Dir(p)
		return d, hasPrograms(d)
	}
	return "", ErrNoPostgres
}

// majorOf returns the major version in /usr/lib/postgresql/MAJOR/bin, 0
// when it is not a number.
func majorOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func hasPrograms(dir string) error {
	for _, p := range programs {
		if fi, err := os.Stat(filepath.Join(dir, p)); err != nil || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("%w: no %s in %s", ErrNoPostgres, p, dir)
		}
	}
	return nil
}

// defaultUsers are tried in order when the test runs as root and Options
// names no user.
var defaultUsers = []string{"ntpmon-test", "nobody"}

// credential returns whom to run PostgreSQL as: nil (the calling user)
// unless the caller is root, else the user named, or the first of
// defaultUsers that exists, with no supplementary groups.
func credential(name string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	names := defaultUsers
	if name != "" {
		names = []string{name}
	}
	for _, n := range names {
		u, err := user.Lookup(n)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		// An empty Groups makes the child call setgroups with no
		// groups: root's supplementary groups are not inherited.
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
	}
	return nil, fmt.Errorf("%w (tried %v)", ErrNoUser, names)
}
