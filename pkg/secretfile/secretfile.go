package secretfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Errors of Read and Resolve; test with errors.Is.
var (
	// ErrEmpty: the file holds nothing but white space.
	ErrEmpty = errors.New("the file holds no secret")
	// ErrBoth: a secret was given both directly and as a file, and which
	// one to use would be a guess.
	ErrBoth = errors.New("the secret is given both directly and as a file")
)

// Resolve returns the secret given directly, or else (given empty, path
// not) the one in the file at path, or "" when there is neither. exposed
// reports a file that users other than its owner may read.
func Resolve(given, path string) (secret string, exposed bool, err error) {
	switch {
	case path == "":
		return given, false, nil
	case given != "":
		return "", false, ErrBoth
	}
	if secret, err = Read(path); err != nil {
		return "", false, err
	}
	_, exposed = Exposed(path)
	return secret, exposed, nil
}

// Read returns the secret in the file at path: its content without
// surrounding white space (editors and echo add a newline). It fails when
// the file cannot be read or holds only white space.
func Read(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s: %w", path, ErrEmpty)
	}
	return s, nil
}

// Exposed reports the mode of the file at path and whether users other than
// its owner may read it (a group or world read bit), which a secret's file
// should not allow. It reports false when the file cannot be stat'ed: Read
// says why.
func Exposed(path string) (fs.FileMode, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	return fi.Mode().Perm(), fi.Mode().Perm()&0o044 != 0
}
