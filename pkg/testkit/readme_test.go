package testkit

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The README is the map of the tree: its Layout table must name every Go
// package, its Data path table must name files and functions that exist,
// and its contents must link to headings that exist. A package added, a file
// renamed or a function moved without the README following fails here.

const root = "../.."

// readmeSection returns the lines of the README's "## <title>" section.
func readmeSection(t *testing.T, title string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "## ") {
			if in {
				break
			}
			in = l == "## "+title
			continue
		}
		if in {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("README has no section %q", title)
	}
	return out
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// goPackageDirs lists the directories under cmd, pkg, api and scripts that
// hold non-test Go files, relative to the repository root.
func goPackageDirs(t *testing.T) []string {
	t.Helper()
	var dirs []string
	for _, top := range []string{"cmd", "pkg", "api", "scripts"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			rel, err := filepath.Rel(root, filepath.Dir(p))
			if err != nil {
				return err
			}
			if !slices.Contains(dirs, rel) {
				dirs = append(dirs, rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return dirs
}

func TestReadmeLayoutNamesEveryPackage(t *testing.T) {
	named := map[string]bool{}
	for _, l := range readmeSection(t, "Layout") {
		if !strings.HasPrefix(l, "| `") {
			continue
		}
		first := strings.SplitN(l, "|", 3)[1]
		for _, m := range codeSpan.FindAllStringSubmatch(first, -1) {
			named[m[1]] = true
		}
	}
	dirs := goPackageDirs(t)
	if len(dirs) < 20 {
		t.Fatalf("found only %d package directories under %s: the walk is broken", len(dirs), root)
	}
	for _, d := range dirs {
		// A package is covered by its own row or by its parent's (cmd/x
		// rows name both commands; scripts/x programs may share a row).
		if !named[d] {
			t.Errorf("README Layout has no row for %s", d)
		}
	}
	for n := range named {
		if _, err := os.Stat(filepath.Join(root, n)); err != nil {
			t.Errorf("README Layout names %s, which does not exist", n)
		}
	}
}

func TestReadmeDataPathNamesRealFunctions(t *testing.T) {
	rows := 0
	for _, l := range readmeSection(t, "Data path") {
		cells := strings.Split(l, "|")
		if len(cells) < 5 || strings.TrimSpace(cells[1]) == "#" || strings.HasPrefix(strings.TrimSpace(cells[1]), "-") {
			continue
		}
		where := cells[3]
		spans := codeSpan.FindAllStringSubmatch(where, -1)
		if len(spans) == 0 {
			continue
		}
		rows++
		var file string // the file the following functions belong to
		for _, m := range spans {
			v := m[1]
			if strings.HasSuffix(v, ".go") {
				if strings.Contains(v, "/") {
					file = v
				} else {
					file = filepath.Join(filepath.Dir(file), v)
				}
				if _, err := os.Stat(filepath.Join(root, file)); err != nil {
					t.Errorf("Data path names %s, which does not exist", file)
				}
				continue
			}
			if file == "" {
				t.Errorf("Data path names %s before any file", v)
				continue
			}
			src, err := os.ReadFile(filepath.Join(root, file))
			if err != nil {
				continue // reported above
			}
			if !declares(string(src), v) {
				t.Errorf("Data path: %s does not declare %s", file, v)
			}
		}
	}
	if rows < 10 {
		t.Errorf("Data path has %d hops with code; the README lists capture to render, ten of them", rows)
	}
}

// declares reports whether src declares the function or method named "F" or
// "Type.Method" (with a value or pointer receiver).
func declares(src, name string) bool {
	typ, fn, ok := strings.Cut(name, ".")
	var re *regexp.Regexp
	if ok {
		re = regexp.MustCompile(`(?m)^func \(\w+ \*?` + regexp.QuoteMeta(typ) + `\) ` + regexp.QuoteMeta(fn) + `\(`)
	} else {
		re = regexp.MustCompile(`(?m)^func ` + regexp.QuoteMeta(name) + `\(`)
	}
	return re.MatchString(src)
}

func TestReadmeContentsLinkToHeadings(t *testing.T) {
	contents := readmeSection(t, "Contents")
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	var headings []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "## ") && l != "## Contents" {
			anchors[githubAnchor(l[3:])] = true
			headings = append(headings, l[3:])
		}
	}
	link := regexp.MustCompile(`\]\(#([^)]+)\)`)
	linked := map[string]bool{}
	for _, l := range contents {
		for _, m := range link.FindAllStringSubmatch(l, -1) {
			if !anchors[m[1]] {
				t.Errorf("Contents links #%s, which no heading makes", m[1])
			}
			linked[m[1]] = true
		}
	}
	for _, h := range headings {
		if !linked[githubAnchor(h)] {
			t.Errorf("Contents does not list the section %q", h)
		}
	}
}

// githubAnchor is the fragment GitHub gives a heading: lower case, spaces to
// hyphens, punctuation other than hyphens and underscores dropped.
func githubAnchor(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 0x7f && isLetter(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isLetter(r rune) bool { return strings.ContainsRune("µäöüéèàçñ", r) }
