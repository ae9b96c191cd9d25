package apitoken

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ntp-monitor/ntp-monitor/pkg/secretfile"
)

// FileName is the token file's name in the state directory.
const FileName = "api-token"

// Mode is the token file's mode: its owner's alone.
const Mode fs.FileMode = 0o600

// Generate returns a new token: 32 bytes from crypto/rand, in hex.
func Generate() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("apitoken: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// State is the token file of a state directory.
type State struct {
	Path  string
	Token string
	// Created is true when this call generated the token.
	Created bool
	// Mode is the file's permission bits; more than Mode lets other users
	// read the token.
	Mode fs.FileMode
}

// LoadOrCreate returns the token in dir's token file, and generates the
// file when there is none (or it is empty). Two collectors starting at once
// on one directory end up with the same token: the file appears whole or
// not at all, and never replaces one that another process made first.
func LoadOrCreate(dir string) (State, error) {
	path := filepath.Join(dir, FileName)
	tok, err := secretfile.Read(path)
	empty := errors.Is(err, secretfile.ErrEmpty)
	switch {
	case err == nil:
		return stateOf(path, tok, false)
	case errors.Is(err, fs.ErrNotExist), empty:
	default:
		return State{}, fmt.Errorf("apitoken: %w", err)
	}
	if tok, err = Generate(); err != nil {
		return State{}, err
	}
	// An empty file (made by hand, or cut by a full disk) is replaced.
	won, err := install(path, tok, empty)
	if err != nil {
		return State{}, err
	}
	if !won {
		if tok, err = secretfile.Read(path); err != nil {
			return State{}, fmt.Errorf("apitoken: %w", err)
		}
	}
	return stateOf(path, tok, won)
}

// Keep writes tok to dir's token file unless the file holds it already, so
// that the file names the token in use.
func Keep(dir, tok string) (string, error) {
	path := filepath.Join(dir, FileName)
	if cur, err := secretfile.Read(path); err == nil && cur == tok {
		return path, nil
	}
	if _, err := install(path, tok, true); err != nil {
		return path, err
	}
	return path, nil
}

func stateOf(path, tok string, created bool) (State, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return State{}, fmt.Errorf("apitoken: %w", err)
	}
	return State{Path: path, Token: tok, Created: created, Mode: fi.Mode().Perm()}, nil
}

// install puts a file holding tok at path: written to a temporary file
// beside it (0600 whatever the umask, synced), then linked to path, which
// fails when path exists (won is false then), or renamed over it when
// replace.
func install(path, tok string, replace bool) (won bool, err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+FileName+"-*")
	if err != nil {
		return false, fmt.Errorf("apitoken: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(append([]byte(tok), '\n'))
	if err == nil {
		err = f.Chmod(Mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("apitoken: write %s: %w", tmp, err)
	}
	if replace {
		if err := os.Rename(tmp, path); err != nil {
			return false, fmt.Errorf("apitoken: %w", err)
		}
		return true, nil
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("apitoken: %w", err)
	}
	return true, nil
}
