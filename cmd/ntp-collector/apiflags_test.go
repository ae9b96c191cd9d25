package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient"
)

// dial parses args as the API flags of a command and returns what dialAPI
// made of them.
func dial(t *testing.T, args ...string) (*apiConn, error) {
	t.Helper()
	var conn *apiConn
	var derr error
	app := &cli.App{Name: "x", Flags: apiFlags(), Action: func(c *cli.Context) error {
		conn, derr = dialAPI(c)
		return nil
	}}
	if err := app.Run(append([]string{"x"}, args...)); err != nil {
		t.Fatal(err)
	}
	return conn, derr
}

func TestTokenChoice(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	os.WriteFile(file, []byte("from-file\n"), 0o600)
	state := filepath.Join(dir, "state")
	os.Mkdir(state, 0o700)
	os.WriteFile(filepath.Join(state, apiclient.TokenFileName), []byte("from-state\n"), 0o600)

	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		value  string
		source string
	}{
		{"flag", nil, []string{"--api-token", "t1"}, "t1", "--api-token"},
		{"variable", map[string]string{"NTP_API_TOKEN": "t2"}, nil, "t2", "NTP_API_TOKEN"},
		{"the flag wins over the variable", map[string]string{"NTP_API_TOKEN": "t2"}, []string{"--api-token", "t1"}, "t1", "--api-token"},
		{"file", nil, []string{"--api-token-file", file}, "from-file", file + " (--api-token-file)"},
		{"file from the variable", map[string]string{"NTP_API_TOKEN_FILE": file}, nil, "from-file", file + " (NTP_API_TOKEN_FILE)"},
		{"a token wins over a file", nil, []string{"--api-token", "t1", "--api-token-file", file}, "t1", "--api-token"},
		{"state directory of a local collector", nil, []string{"--state-dir", state}, "from-state", filepath.Join(state, apiclient.TokenFileName)},
		{"state directory from the variable", map[string]string{"NTP_STATE_DIR": state}, []string{"--api", "http://localhost:8000"}, "from-state", filepath.Join(state, apiclient.TokenFileName)},
		// The local collector's token is never handed to another host.
		{"state directory, remote collector", nil, []string{"--state-dir", state, "--api", "http://192.0.2.5:8000"}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range []string{"NTP_API", "NTP_API_TOKEN", "NTP_API_TOKEN_FILE", "NTP_STATE_DIR"} {
				t.Setenv(v, tc.env[v])
				if tc.env[v] == "" {
					os.Unsetenv(v)
				}
			}
			conn, err := dial(t, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if got := conn.Token(); got.Value != tc.value || got.Source != tc.source {
				t.Errorf("token %+v, want %q from %q", got, tc.value, tc.source)
			}
		})
	}
	if _, err := dial(t, "--api-token-file", filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "--api-token-file") {
		t.Errorf("missing token file: %v", err)
	}
}

// explain's hints name what the operator can do next.
func TestExplain(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, apiclient.TokenFileName), 0o700) // there, unreadable as a file
	t.Setenv("NTP_API_TOKEN", "")
	os.Unsetenv("NTP_API_TOKEN")
	noToken, err := dial(t, "--state-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	withToken, err := dial(t, "--api-token", "wrong")
	if err != nil {
		t.Fatal(err)
	}
	unauthorized := &apiclient.Error{Method: "GET", URL: "http://127.0.0.1:8000/api/ntp/stream", Status: 401, Code: "unauthorized"}
	forbidden := &apiclient.Error{Method: "GET", URL: "http://127.0.0.1:8000/api/ntp/stream", Status: 403, Code: "forbidden", TokenSource: "--api-token"}
	tests := []struct {
		name string
		conn *apiConn
		err  error
		want []string
	}{
		{"401 without a token", noToken, unauthorized, []string{"401 Unauthorized", "none was given", "--api-token (NTP_API_TOKEN)", "--api-token-file", "no readable api-token in " + dir, "is a directory"}},
		{"403", withToken, forbidden, []string{"403 Forbidden", "refused the API token from --api-token", "the collector's token is its --api-token"}},
		{"unreachable", noToken, fmt.Errorf("%w at http://127.0.0.1:8000: connection refused", apiclient.ErrUnreachable), []string{"is `ntp-collector serve` running there?", "--api (NTP_API)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.conn.explain(tc.err)
			if !errors.Is(got, tc.err) {
				t.Errorf("the explained error no longer wraps %v", tc.err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got.Error(), w) {
					t.Errorf("%q does not say %q", got, w)
				}
			}
		})
	}
}
