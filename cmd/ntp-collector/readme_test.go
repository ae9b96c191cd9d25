package main_test

import (
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/flagdoc"
)

// TestFlagsMatchREADME holds each command's --help to its flag table in
// the README: the same flags, spelt the same, with the same variables and
// defaults.
func TestFlagsMatchREADME(t *testing.T) {
	for _, tc := range []struct{ heading, command string }{
		{"## ntp-collector", "serve"},
		{"### In the terminal: `ntp-collector clients` and `ntp-collector top`", "clients"},
		{"### In the terminal: `ntp-collector clients` and `ntp-collector top`", "top"},
	} {
		out, errOut, code := cli(t, nil, tc.command, "--help")
		if code != 0 || errOut != "" {
			t.Fatalf("%s --help: exit %d, stderr %q", tc.command, code, errOut)
		}
		flagdoc.Check(t, "../../README.md", tc.heading, tc.command, out)
	}
}
