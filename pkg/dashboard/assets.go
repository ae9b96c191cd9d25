package dashboard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// files is the page: index.html (a template: it names the versioned
// directory), the style sheet, the ES modules and the vendored chart
// library. It is read-only; nothing else in the package is global.
//
//go:embed assets
var files embed.FS

// contentTypes are the only kinds of file the page may contain. An
// embedded file of another kind fails New rather than being served with a
// sniffed type.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
}

// notServed are files kept beside the assets for people, not for the
// browser.
var notServed = map[string]bool{"README.md": true, "LICENSE": true}

// asset is one file as served: its bytes, its gzip encoding when that is
// smaller, and the validators derived from the content.
type asset struct {
	body  []byte
	gz    []byte // nil when gzip would not make it smaller
	ctype string
	etag  string // strong, of body; the gzip encoding's adds ".gz"
}

func newAsset(name string, body []byte) (*asset, error) {
	ctype, ok := contentTypes[path.Ext(name)]
	if !ok {
		return nil, fmt.Errorf("dashboard: %s: no content type for %q files", name, path.Ext(name))
	}
	sum := sha256.Sum256(body)
	a := &asset{body: body, ctype: ctype, etag: hex.EncodeToString(sum[:8])}
	if ctype != "image/png" {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return nil, fmt.Errorf("dashboard: gzip %s: %w", name, err)
		}
		if _, err := zw.Write(body); err != nil {
			return nil, fmt.Errorf("dashboard: gzip %s: %w", name, err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("dashboard: gzip %s: %w", name, err)
		}
		if buf.Len() < len(body) {
			a.gz = buf.Bytes()
		}
	}
	return a, nil
}

// set is the page prepared for serving: every static file under a
// directory named by the hash of all of them, so that a browser may keep
// each one for a year, and index.html, which names that directory and is
// revalidated on every load.
type set struct {
	version string            // hex, of every path and content
	static  map[string]*asset // by path under assets/, e.g. "js/app.js"
	index   *asset
}

// load compresses every file once, at start: serving then costs no CPU
// beyond copying bytes.
func load() (*set, error) {
	root, err := fs.Sub(files, "assets")
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	s := &set{static: map[string]*asset{}}
	var names []string
	raw := map[string][]byte{}
	err = fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || notServed[d.Name()] {
			return err
		}
		b, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		names = append(names, name)
		raw[name] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard: read assets: %w", err)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, name := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(raw[name]))
		h.Write(raw[name])
		if name == "index.html" {
			continue
		}
		if s.static[name], err = newAsset(name, raw[name]); err != nil {
			return nil, err
		}
	}
	s.version = hex.EncodeToString(h.Sum(nil)[:6])

	tmpl, err := template.New("index.html").Parse(string(raw["index.html"]))
	if err != nil {
		return nil, fmt.Errorf("dashboard: index.html: %w", err)
	}
	var page bytes.Buffer
	if err := tmpl.Execute(&page, struct{ Static string }{staticDir + s.version}); err != nil {
		return nil, fmt.Errorf("dashboard: index.html: %w", err)
	}
	if s.index, err = newAsset("index.html", page.Bytes()); err != nil {
		return nil, err
	}
	return s, nil
}

// staticDir is where, under the page, the versioned files live:
// ui/s/<version>/js/app.js.
const staticDir = "s/"

// lookup finds the file a path below the page names: "" is index.html,
// "s/<version>/<name>" a static file of this version. Any other version
// is not found: its content is not what a year-long cache entry under
// that name promised.
func (s *set) lookup(rel string) (a *asset, immutable bool) {
	if rel == "" || rel == "index.html" {
		return s.index, false
	}
	v, name, ok := strings.Cut(strings.TrimPrefix(rel, staticDir), "/")
	if !strings.HasPrefix(rel, staticDir) || !ok || v != s.version {
		return nil, false
	}
	a = s.static[name]
	return a, a != nil
}

// sizes reports the bytes of every served file and of their gzip
// encodings (the raw size where gzip is not used).
func (s *set) sizes() (raw, gz int) {
	add := func(a *asset) {
		raw += len(a.body)
		if a.gz != nil {
			gz += len(a.gz)
		} else {
			gz += len(a.body)
		}
	}
	add(s.index)
	for _, a := range s.static {
		add(a)
	}
	return raw, gz
}
