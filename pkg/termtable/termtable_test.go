package termtable_test

import (
	"strings"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/termtable"
	"github.com/ntp-monitor/ntp-monitor/pkg/termtable/termtabletest"
)

func TestWriteTo(t *testing.T) {
	tests := []struct {
		name string
		cols []termtable.Column
		rows [][]string
	}{
		{"header-only.txt", []termtable.Column{{"ADDRESS", termtable.Left}, {"REQS", termtable.Right}}, nil},
		{"mixed.txt",
			[]termtable.Column{{"ADDRESS", termtable.Left}, {"REQS", termtable.Right}, {"PROC", termtable.Right}, {"LAST SEEN", termtable.Left}},
			[][]string{
				{"192.0.2.11", "10", "842 µs", "3 s ago"},
				{"2001:db8:0:1::c", "1,234,567", "57.3 µs", "2 h ago"},
				{"198.18.0.1", "-", "-", "-"},
			}},
		{"wide-header.txt",
			[]termtable.Column{{"INTERFACE", termtable.Left}, {"ANSWERED", termtable.Right}},
			[][]string{{"lo", "100%"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := termtable.New(tc.cols...)
			for _, r := range tc.rows {
				tb.Row(r...)
			}
			var b strings.Builder
			n, err := tb.WriteTo(&b)
			if err != nil {
				t.Fatal(err)
			}
			if int(n) != b.Len() {
				t.Errorf("WriteTo returned %d, wrote %d bytes", n, b.Len())
			}
			termtabletest.Golden(t, tc.name, b.String())
			for i, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
				if strings.HasSuffix(line, " ") {
					t.Errorf("line %d has trailing spaces: %q", i, line)
				}
			}
		})
	}
}

// Splitting on runs of two spaces gives the cells back, which is what the
// commands' tests and scripts rely on.
func TestSplittable(t *testing.T) {
	tb := termtable.New(termtable.Column{"A", termtable.Left}, termtable.Column{"B B", termtable.Right}, termtable.Column{"C", termtable.Left})
	rows := [][]string{{"x", "1", "3 min ago"}, {"longer text", "1,000", "now"}}
	for _, r := range rows {
		tb.Row(r...)
	}
	var b strings.Builder
	tb.WriteTo(&b)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := append([][]string{{"A", "B B", "C"}}, rows...)
	for i, line := range lines {
		got := termtabletest.Cells(line)
		if strings.Join(got, "|") != strings.Join(want[i], "|") {
			t.Errorf("line %d %q splits into %q, want %q", i, line, got, want[i])
		}
	}
}

func TestRowArity(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a row of the wrong length did not panic")
		}
	}()
	termtable.New(termtable.Column{"A", termtable.Left}).Row("1", "2")
}
