package leftover

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// StateDir returns the directory holding kit's claims, creating it: under
// /run when the caller is root, else a directory of the caller's own in the
// system temp dir. It refuses a directory that is not the caller's, since a
// claim tells Reap what to kill and remove.
func StateDir(kit string) (string, error) {
	dir := filepath.Join("/run", "ntp-monitor-"+kit)
	if uid := os.Geteuid(); uid != 0 {
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("ntp-monitor-%s-%d", kit, uid))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("leftover: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("leftover: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Geteuid() || fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("leftover: %s is not a private directory of user %d", dir, os.Geteuid())
	}
	return dir, nil
}

// A Record is a claim on a directory by the calling process.
type Record struct {
	path string
}

// Claim records that the calling process owns dir, for kit. The record is
// named after dir's base name, which must be unique (a temp directory's is).
// It appears whole, through a rename, so that a reaper never reads half of
// it.
func Claim(kit, dir string) (*Record, error) {
	state, err := StateDir(kit)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("leftover: %w", err)
	}
	owner, err := ProcOf(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("leftover: %w", err)
	}
	name := filepath.Base(abs)
	path := filepath.Join(state, name)
	tmp := filepath.Join(state, "."+name+".new")
	text := fmt.Sprintf("owner %d %d\ndir %s\n", owner.PID, owner.Start, abs)
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		return nil, fmt.Errorf("leftover: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("leftover: %w", err)
	}
	return &Record{path: path}, nil
}

// Release removes the claim, once what it names is gone. It is safe to call
// more than once.
func (r *Record) Release() {
	_ = os.Remove(r.path)
}

// Reap cleans up after every claim of kit whose owner is gone: it kills the
// processes that belong to the claimed directory, calls clean with the
// directory (when clean is not nil) for what the kit keeps outside it, then
// removes the directory and the claim. It returns the directories it
// reaped; each error names the directory it concerns. A claim may vanish
// while it is read (its owner released it), and two reapers may reap the
// same directory: neither is an error, and clean must accept a directory
// that another reaper has removed meanwhile.
func Reap(kit string, clean func(dir string) error) ([]string, error) {
	state, err := StateDir(kit)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(state)
	if err != nil {
		return nil, fmt.Errorf("leftover: %w", err)
	}
	var reaped []string
	var errs []error
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue // a claim being written
		}
		path := filepath.Join(state, e.Name())
		owner, dir, err := readRecord(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reap %s: %w", path, err))
			continue
		}
		if owner.Alive() {
			continue
		}
		KillUsing(dir)
		if clean != nil {
			if err := clean(dir); err != nil {
				errs = append(errs, fmt.Errorf("reap %s: %w", dir, err))
				continue
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("reap %s: %w", dir, err))
			continue
		}
		_ = os.Remove(path)
		reaped = append(reaped, dir)
	}
	return reaped, errors.Join(errs...)
}

// readRecord parses a claim: its owner and its directory.
func readRecord(path string) (owner Proc, dir string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return owner, "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), " ")
		switch key {
		case "owner":
			if _, err := fmt.Sscan(val, &owner.PID, &owner.Start); err != nil {
				return owner, "", fmt.Errorf("%s: owner %q: %w", path, val, err)
			}
		case "dir":
			dir = val
		}
	}
	if err := sc.Err(); err != nil {
		return owner, "", err
	}
	// A claim names an absolute directory; anything else would make
	// RemoveAll act on the reaper's working directory.
	if owner.PID == 0 || !filepath.IsAbs(dir) || filepath.Clean(dir) == "/" {
		return owner, "", fmt.Errorf("%s: not a claim (owner %d, dir %q)", path, owner.PID, dir)
	}
	return owner, dir, nil
}
