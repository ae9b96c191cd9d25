package tlsfiles

import (
	"os"
	"sync"
	"syscall"
	"time"
)

// files is what Certificate and Pool share: their paths, the stamps of the
// files as last read, and the lock that serialises reloads. load reads the
// files and puts what they hold in use, or fails and changes nothing.
type files struct {
	paths []string
	load  func() error

	mu     sync.Mutex
	stamps []stamp
}

// Reload reads the files again and, when they are usable, puts what they
// hold in use. On error what was in use stays.
func (f *files) Reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reloadLocked()
}

// ReloadIfChanged reloads when a file changed since it was last read. It
// reports whether it tried.
func (f *files) ReloadIfChanged() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if sameStamps(f.stamps, stamps(f.paths...)) {
		return false, nil
	}
	return true, f.reloadLocked()
}

func (f *files) reloadLocked() error {
	// Stamp before reading: a write that lands while the files are read
	// changes the stamp again, and the next check reloads once more.
	f.stamps = stamps(f.paths...)
	return f.load()
}

// stamp is what tells that a file changed without reading it: a rewrite
// changes its size or modification time, a replacement by rename (certbot,
// a symlink swap as Kubernetes does it) its inode.
type stamp struct {
	size  int64
	mtime time.Time
	ino   uint64
}

// stampOf stats path (following symlinks); the zero stamp when it cannot.
func stampOf(path string) stamp {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}
	}
	st := stamp{size: fi.Size(), mtime: fi.ModTime()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = sys.Ino
	}
	return st
}

// stamps stats every path.
func stamps(paths ...string) []stamp {
	out := make([]stamp, len(paths))
	for i, p := range paths {
		out[i] = stampOf(p)
	}
	return out
}

func sameStamps(a, b []stamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
