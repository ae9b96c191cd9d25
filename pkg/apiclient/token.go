package apiclient

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/ntp-monitor/ntp-monitor/pkg/apitoken"
	"github.com/ntp-monitor/ntp-monitor/pkg/secretfile"
)

// TokenFileName is the file in the collector's state directory (beside its
// database) that holds the API token it generated or was given.
const TokenFileName = apitoken.FileName

// DefaultStateDirs are where a collector on this host keeps its state, in
// the order they are searched: the directory of the default --db when run
// by hand from a checkout (data/ntp_clients.db), then the systemd unit's
// StateDirectory.
func DefaultStateDirs() []string { return []string{"data", "/var/lib/ntp-monitor"} }

// ReadTokenFile reads a token file: the token is its content without
// surrounding white space (a trailing newline is usual).
func ReadTokenFile(path string) (string, error) {
	tok, err := secretfile.Read(path)
	switch {
	case errors.Is(err, secretfile.ErrEmpty):
		return "", fmt.Errorf("API token file %s: %w", path, ErrNoToken)
	case err != nil:
		return "", fmt.Errorf("API token file: %w", err)
	}
	return tok, nil
}

// FindStateToken returns the token in the first of dirs that holds a
// readable, non-empty TokenFileName. A file that exists but cannot be read
// (another user's, mode 0600) is skipped and reported in unreadable, so a
// later 401 can say why no token was sent. The zero Token means none was
// found.
func FindStateToken(dirs ...string) (tok Token, unreadable []error) {
	for _, d := range dirs {
		path := filepath.Join(d, TokenFileName)
		v, err := ReadTokenFile(path)
		if err == nil {
			return Token{Value: v, Source: path}, unreadable
		}
		if !errors.Is(err, fs.ErrNotExist) {
			unreadable = append(unreadable, err)
		}
	}
	return Token{}, unreadable
}

// IsLocal reports whether baseURL names this host (a loopback address or
// "localhost"). The token in a local state directory belongs to the local
// collector and is only ever sent to it: handing it to another host would
// give that host the right to start and stop this one's workers.
func IsLocal(baseURL string) bool {
	u, err := url.Parse(baseURL)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
