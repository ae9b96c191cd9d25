package pgtest

import (
	"io/fs"
	"syscall"
)

// FileUID returns the user ID that owns a file, for the tests of package
// pgtest_test.
func FileUID(fi fs.FileInfo) int {
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}
