package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Sync makes every commit that returned before it was called durable, as
// synchronous FULL would have: it fsyncs the WAL, where those commits live
// until a checkpoint (which itself syncs at NORMAL). With NORMAL and Sync
// run beside the next commit rather than inside it, acknowledgements can
// wait for durability without the writer waiting for the disk.
func (s *Store) Sync() error {
	for _, name := range []string{s.path + "-wal", s.path} {
		f, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) && name != s.path {
			continue // no WAL: every commit is already in the main file
		}
		if err != nil {
			return fmt.Errorf("store: sync %s: %w", name, err)
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("store: sync %s: %w", name, classifyFSErr(err))
		}
	}
	return nil
}
