package dashboard

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// ownFiles are the page's files apart from the vendored library.
func ownFiles(t *testing.T, ext string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(files, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, "assets/vendor/") || path.Ext(p) != ext {
			return err
		}
		b, err := fs.ReadFile(files, p)
		out[strings.TrimPrefix(p, "assets/")] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no %s file in assets", ext)
	}
	return out
}

// TestPageKeepsAStrictPolicy: nothing in index.html needs 'unsafe-inline'
// or 'unsafe-eval' — no inline script or style, no event-handler or style
// attribute, no javascript: URL — and no script of the page builds code
// or markup from strings.
func TestPageKeepsAStrictPolicy(t *testing.T) {
	page := ownFiles(t, ".html")["index.html"]
	z := html.NewTokenizer(strings.NewReader(page))
	inScript := false
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			if tok.Data == "style" {
				t.Errorf("index.html has a <style> element")
			}
			hasSrc := false
			for _, a := range tok.Attr {
				switch {
				case strings.HasPrefix(a.Key, "on"):
					t.Errorf("<%s %s=…>: an inline event handler", tok.Data, a.Key)
				case a.Key == "style":
					t.Errorf("<%s style=…>: an inline style", tok.Data)
				case strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:"):
					t.Errorf("<%s %s=%q>: a javascript: URL", tok.Data, a.Key, a.Val)
				case a.Key == "src":
					hasSrc = true
				}
			}
			if tok.Data == "script" {
				if !hasSrc {
					t.Errorf("index.html has an inline <script>")
				}
				inScript = true
			}
		case html.TextToken:
			if inScript && strings.TrimSpace(tok.Data) != "" {
				t.Errorf("a <script> of index.html has a body: %q", tok.Data)
			}
		case html.EndTagToken:
			inScript = false
		}
	}

	forbidden := regexp.MustCompile(`\beval\s*\(|new\s+Function\s*\(|\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write|` +
		`setAttribute\(\s*['"](style|on\w+)['"]|set(Timeout|Interval)\(\s*['"]`)
	for name, src := range ownFiles(t, ".js") {
		for i, line := range strings.Split(src, "\n") {
			if m := forbidden.FindString(line); m != "" {
				t.Errorf("%s:%d: %q: needs a weaker policy, or turns text into markup", name, i+1, m)
			}
		}
	}
	lib, err := fs.ReadFile(files, "assets/vendor/uplot-1.6.32/uPlot.iife.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`\beval\(|new Function\(`).Find(lib); m != nil {
		t.Errorf("the chart library calls %q: the policy would block it", m)
	}
}

// TestPageStaysOnItsHost: every address the page uses is relative — no
// scheme, no host, no leading slash — so it loads nothing from elsewhere
// and works under any path prefix; the library requests nothing at all.
func TestPageStaysOnItsHost(t *testing.T) {
	page := ownFiles(t, ".html")["index.html"]
	z := html.NewTokenizer(strings.NewReader(page))
	refs := 0
	for tt := z.Next(); tt != html.ErrorToken; tt = z.Next() {
		for _, a := range z.Token().Attr {
			if a.Key != "src" && a.Key != "href" {
				continue
			}
			refs++
			if !relative(a.Val) {
				t.Errorf("index.html: %s=%q is not relative to the page", a.Key, a.Val)
			}
		}
	}
	if refs < 5 {
		t.Errorf("index.html: only %d src/href attributes seen", refs)
	}

	// In scripts: module specifiers, and the string literals that name
	// URLs (an API path, a stylesheet).
	imports := regexp.MustCompile(`(?m)^\s*import\b[^'"]*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]`)
	literal := regexp.MustCompile(`['"` + "`" + `]((?:https?:|wss?:)?//[^'"` + "`" + `]*|/(?:api|ui|metrics|health)\b[^'"` + "`" + `]*)['"` + "`" + `]`)
	for name, src := range ownFiles(t, ".js") {
		for _, m := range imports.FindAllStringSubmatch(src, -1) {
			spec := m[1] + m[2]
			if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
				t.Errorf("%s imports %q: not relative", name, spec)
			}
		}
		for _, m := range literal.FindAllStringSubmatch(src, -1) {
			t.Errorf("%s names %q: an absolute address", name, m[1])
		}
	}
	for name, src := range ownFiles(t, ".css") {
		if strings.Contains(src, "url(") || strings.Contains(src, "@import") {
			t.Errorf("%s loads something (url( or @import)", name)
		}
	}
	lib, err := fs.ReadFile(files, "assets/vendor/uplot-1.6.32/uPlot.iife.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`fetch\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon|import\(`).Find(lib); m != nil {
		t.Errorf("the chart library uses %q", m)
	}
}

func relative(u string) bool {
	return u != "" && !strings.HasPrefix(u, "/") && !strings.Contains(u, "//") && !strings.Contains(strings.SplitN(u, "/", 2)[0], ":")
}

// TestPageLoadsOnlyWhatItServes: every file that index.html, a module's
// import or a stylesheet names is one the handler serves.
func TestPageLoadsOnlyWhatItServes(t *testing.T) {
	s, err := load()
	if err != nil {
		t.Fatal(err)
	}
	attr := regexp.MustCompile(`(?:src|href)="([^"#]+)"`)
	for _, m := range attr.FindAllStringSubmatch(string(s.index.body), -1) {
		if a, _ := s.lookup(m[1]); a == nil {
			t.Errorf("index.html names %s, which is not served", m[1])
		}
	}
	imports := regexp.MustCompile(`(?m)^\s*import\b[^'"]*['"]([^'"]+)['"]`)
	for name, src := range ownFiles(t, ".js") {
		for _, m := range imports.FindAllStringSubmatch(src, -1) {
			target := path.Join(path.Dir(name), m[1])
			if s.static[target] == nil {
				t.Errorf("%s imports %s (%s), which is not served", name, m[1], target)
			}
		}
	}
}

// TestVendoredFilesArePinned: the vendored library is byte for byte what
// its README says was taken from the npm package.
func TestVendoredFilesArePinned(t *testing.T) {
	const dir = "assets/vendor/uplot-1.6.32/"
	readme, err := fs.ReadFile(files, dir+"README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`^\| (\S+) \| ([0-9a-f]{64}) \|$`)
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(string(readme)))
	for sc.Scan() {
		m := row.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		seen++
		b, err := fs.ReadFile(files, dir+m[1])
		if err != nil {
			t.Errorf("%s: %v", m[1], err)
			continue
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != m[2] {
			t.Errorf("%s%s: sha256 %s, the README says %s", dir, m[1], got, m[2])
		}
	}
	if seen != 3 {
		t.Errorf("the README lists %d checksums, want 3 (the script, the stylesheet, the license)", seen)
	}
}

// TestPageIsSmall keeps the whole page — index.html and everything it
// loads — within a budget as a browser that accepts gzip receives it.
// doc.go and the README state the figure.
func TestPageIsSmall(t *testing.T) {
	s, err := load()
	if err != nil {
		t.Fatal(err)
	}
	raw, gz := s.sizes()
	t.Logf("the page: %d bytes, %d in gzip, %d files", raw, gz, len(s.static)+1)
	const budget = 80 << 10
	if gz > budget {
		t.Errorf("the page is %d bytes in gzip, over its budget of %d", gz, budget)
	}
}
