package termtabletest

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/termtable"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Updating reports whether the test binary runs with -update.
func Updating() bool { return *update }

// Golden compares got with testdata/name, or with -update rewrites the file
// first.
func Golden(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// Cells splits a table line into its cells: on runs of termtable.Gap, as no
// cell holds two spaces in a row.
func Cells(line string) []string {
	var out []string
	for _, f := range strings.Split(strings.TrimSpace(line), termtable.Gap) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Rows reads a table: its header line and the lines up to the first blank
// one, as maps from header to cell. A line whose cells do not match the
// header in number fails the test.
func Rows(t testing.TB, table string) []map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	header := Cells(lines[0])
	var out []map[string]string
	for _, l := range lines[1:] {
		if strings.TrimSpace(l) == "" {
			break
		}
		cells := Cells(l)
		if len(cells) != len(header) {
			t.Fatalf("line %q has %d cells, the header %q has %d", l, len(cells), lines[0], len(header))
		}
		m := make(map[string]string, len(cells))
		for i, h := range header {
			m[h] = cells[i]
		}
		out = append(out, m)
	}
	return out
}
