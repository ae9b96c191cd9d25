package tsharktest

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Fields returns, for each packet of the pcap at path that matches the
// display filter (all packets when filter is empty), the values of fields in
// order, as tshark prints them: first occurrence only, no name resolution,
// times in UTC. It skips the test, naming the fix, when tshark is missing.
func Fields(t testing.TB, path, filter string, fields ...string) [][]string {
	t.Helper()
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (make deps, or apt-get install tshark): skipping the cross-check against its dissectors")
	}
	args := []string{"-r", path, "-n", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"}
	if filter != "" {
		args = append(args, "-Y", filter)
	}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v: %s", path, err, stderr.String())
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		row := strings.Split(line, "\t")
		if len(row) != len(fields) {
			t.Fatalf("tshark printed %d fields, want %d: %q", len(row), len(fields), line)
		}
		rows = append(rows, row)
	}
	return rows
}
