package main

import (
	"os/exec"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/flagdoc"
)

// TestFlagsMatchREADME holds --help to the README's ntp-worker flag table:
// the same flags, spelt the same, with the same variables and defaults.
func TestFlagsMatchREADME(t *testing.T) {
	out, err := exec.Command(build(t), "--help").Output()
	if err != nil {
		t.Fatal(err)
	}
	flagdoc.Check(t, "../../README.md", "## ntp-worker", "", string(out))
}
