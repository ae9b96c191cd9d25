package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
)

// Modes of the files and directories the supervisor creates: the PID
// files are the collector's own business, the logs may be read by the
// service's group (an operator in it, a log shipper).
const (
	dirMode     = 0o750
	pidFileMode = 0o600
	logFileMode = 0o640
)

// writePIDFile writes pid to path atomically, so a collector that dies
// midway leaves either the old file or the new one. A temporary file left
// by a collector that died there is replaced, not reused with its mode.
func writePIDFile(path string, pid int) error {
	tmp := path + ".tmp"
	os.Remove(tmp)
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)+"\n"), pidFileMode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// readPIDFile returns the PID in path.
func readPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("PID file %s: bad content %q", path, b)
	}
	return pid, nil
}

// removePIDFile removes path if it still names pid; a file already
// rewritten for a newer process is left alone.
func removePIDFile(path string, pid int) {
	if got, err := readPIDFile(path); err == nil && got == pid {
		os.Remove(path)
	}
}

// rotateLog caps the log at path: when it is larger than max it is copied to
// path.1 (older copies shifting to .2 … .backups, the oldest dropped) and
// truncated in place. Truncating rather than renaming keeps the worker's
// descriptor valid: the worker writes with O_APPEND, so its next line lands
// at the start of the emptied file. Lines written between the copy and the
// truncation are lost; the copy runs to the end of the file just before the
// truncation to keep that window to a few microseconds.
func rotateLog(path string, max int64, backups int) (bool, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.Size() <= max {
		return false, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if backups > 0 {
		for i := backups - 1; i >= 1; i-- {
			err := os.Rename(path+"."+strconv.Itoa(i), path+"."+strconv.Itoa(i+1))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return false, err
			}
		}
		dst, err := os.OpenFile(path+".1", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, logFileMode)
		if err != nil {
			return false, err
		}
		_, cerr := io.Copy(dst, f)
		if err := dst.Close(); cerr == nil {
			cerr = err
		}
		if cerr != nil {
			return false, fmt.Errorf("copying %s: %w", filepath.Base(path), cerr)
		}
	}
	if err := f.Truncate(0); err != nil {
		return false, err
	}
	return true, nil
}

func (s *Supervisor) rotate(w *worker) {
	rotated, err := rotateLog(w.logPath, s.cfg.LogMaxBytes, s.cfg.LogBackups)
	if err != nil {
		s.log.Warn("rotating worker log", "interface", w.name, "path", w.logPath, logging.KeyErr, err)
	} else if rotated {
		s.log.Info("rotated worker log", "interface", w.name, "path", w.logPath)
	}
}

// tailLines returns up to n last non-empty lines of the file at path, read
// from its last 64 KiB.
func tailLines(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const window = 64 << 10
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	off := max(fi.Size()-window, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return nil
	}
	if off > 0 { // drop the partial first line
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimRight(l, "\r"); strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
