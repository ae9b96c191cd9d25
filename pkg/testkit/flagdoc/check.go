package flagdoc

import (
	"os"
	"testing"
)

// Check holds help, the --help text of command, to the rows of the README
// flag table under heading that are about command (pass "" for a program
// without subcommands), and fails t with every difference.
func Check(t testing.TB, readmePath, heading, command, help string) {
	t.Helper()
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Table(string(readme), heading)
	if err != nil {
		t.Fatal(err)
	}
	flags, err := Help(help)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range Diff(flags, For(rows, command)) {
		t.Errorf("%s --help against the README (%s): %s", command, heading, d)
	}
}
