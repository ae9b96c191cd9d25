package flagdoc

import (
	"os"
	"reflect"
	"slices"
	"testing"
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHelp(t *testing.T) {
	got, err := Help(read(t, "help.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Flag{
		{[]string{"--db"}, "DEMO_DB", "data/x.db"},
		{[]string{"--interface", "-i"}, "DEMO_INTERFACE", ""},
		{[]string{"--queue-size"}, "DEMO_QUEUE_SIZE", "max(10000, batch size)"},
		{[]string{"--interval"}, "DEMO_INTERVAL", "2s"},
		{[]string{"--json"}, "DEMO_JSON", ""},
		{[]string{"--token"}, "", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Help:\n got %+v\nwant %+v", got, want)
	}
	if _, err := Help("NAME:\n   x\n"); err == nil {
		t.Error("a help text without options parsed")
	}
}

func TestTable(t *testing.T) {
	readme := read(t, "readme.md")
	got, err := Table(readme, "## serve")
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{"", Flag{[]string{"--db"}, "DEMO_DB", "data/x.db"}},
		{"", Flag{[]string{"--interface", "-i"}, "DEMO_INTERFACE", ""}},
		{"", Flag{[]string{"--queue-size"}, "DEMO_QUEUE_SIZE", "max(10000, batch size)"}},
		{"", Flag{[]string{"--interval"}, "DEMO_INTERVAL", "2s"}},
		{"", Flag{[]string{"--json"}, "DEMO_JSON", ""}},
		{"", Flag{[]string{"--token"}, "", ""}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Table(serve):\n got %+v\nwant %+v", got, want)
	}
	term, err := Table(readme, "### Terminal")
	if err != nil {
		t.Fatal(err)
	}
	if names := func(fs []Flag) (n []string) {
		for _, f := range fs {
			n = append(n, f.Name())
		}
		return n
	}; !slices.Equal(names(For(term, "list")), []string{"--api", "--sort"}) || !slices.Equal(names(For(term, "other")), []string{"--api"}) {
		t.Errorf("For: list %v, other %v", names(For(term, "list")), names(For(term, "other")))
	}
	for _, heading := range []string{"## empty", "## nowhere", "## next"} {
		if rows, err := Table(readme, heading); err == nil {
			t.Errorf("Table(%q) = %+v, want an error", heading, rows)
		}
	}
}

// The help and the README above agree; every kind of difference is named.
func TestDiff(t *testing.T) {
	help, err := Help(read(t, "help.txt"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Table(read(t, "readme.md"), "## serve")
	if err != nil {
		t.Fatal(err)
	}
	readme := For(rows, "serve")
	if d := Diff(help, readme); len(d) != 0 {
		t.Errorf("differences where there are none: %q", d)
	}
	changed := slices.Clone(readme)
	changed[0].Default = "data/y.db"
	changed[1].Names = []string{"--interface"}
	changed[2].Env = "DEMO_QUEUE"
	changed = append(changed[:4], Flag{Names: []string{"--extra"}})
	want := []string{
		`--db: default "data/x.db" in --help, "data/y.db" in the README`,
		`--interface: spelt ["--interface" "-i"] in --help, ["--interface"] in the README`,
		`--queue-size: variable "DEMO_QUEUE_SIZE" in --help, "DEMO_QUEUE" in the README`,
		`--json is in --help, not in the README`,
		`--token is in --help, not in the README`,
		`--extra is in the README, not in --help`,
	}
	if got := Diff(help, changed); !slices.Equal(got, want) {
		t.Errorf("Diff:\n got %q\nwant %q", got, want)
	}
}
