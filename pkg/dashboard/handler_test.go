package dashboard_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/dashboard"
	"github.com/ntp-monitor/ntp-monitor/pkg/httpapi"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
)

func newPage(t *testing.T) (*dashboard.Handler, *httptest.Server) {
	t.Helper()
	h, err := dashboard.New()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return h, ts
}

// client sends requests as written: no transparent gzip, no redirects.
var client = &http.Client{
	Transport:     &http.Transport{DisableCompression: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func do(t *testing.T, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

func TestResponses(t *testing.T) {
	h, ts := newPage(t)
	b, err := os.ReadFile("testdata/responses.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name, Method, Path, Accept      string
		Gzip, Empty                     bool
		Status                          int
		Location, Type, Encoding, Cache *string
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			method := c.Method
			if method == "" {
				method = http.MethodGet
			}
			hdr := map[string]string{}
			if c.Gzip {
				hdr["Accept-Encoding"] = "gzip, deflate"
			}
			if c.Accept != "" {
				hdr["Accept-Encoding"] = c.Accept
			}
			res, body := do(t, method, ts.URL+strings.ReplaceAll(c.Path, "{v}", h.Version()), hdr)
			if res.StatusCode != c.Status {
				t.Fatalf("status %d, want %d (%s)", res.StatusCode, c.Status, body)
			}
			for name, want := range map[string]*string{"Location": c.Location, "Content-Type": c.Type, "Content-Encoding": c.Encoding, "Cache-Control": c.Cache} {
				if want != nil && res.Header.Get(name) != *want {
					t.Errorf("%s: %q, want %q", name, res.Header.Get(name), *want)
				}
			}
			if c.Empty && len(body) != 0 {
				t.Errorf("HEAD answered %d bytes of body", len(body))
			}
			if res.StatusCode == http.StatusOK || res.StatusCode == http.StatusFound {
				if got := res.Header.Get("Content-Security-Policy"); got != dashboard.ContentSecurityPolicy {
					t.Errorf("Content-Security-Policy %q", got)
				}
				if res.Header.Get("X-Content-Type-Options") != "nosniff" {
					t.Error("no X-Content-Type-Options: nosniff")
				}
			}
			if res.StatusCode == http.StatusOK && !c.Empty && res.Header.Get("Content-Length") != "" && res.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %s, body %d bytes", res.Header.Get("Content-Length"), len(body))
			}
		})
	}
}

// TestGzipIsTheSameFile: the compressed answer decodes to the plain one,
// for every file the page loads.
func TestGzipIsTheSameFile(t *testing.T) {
	h, ts := newPage(t)
	for _, p := range []string{"/ui/", "/ui/s/" + h.Version() + "/js/app.js", "/ui/s/" + h.Version() + "/vendor/uplot-1.6.32/uPlot.iife.min.js"} {
		_, plain := do(t, "GET", ts.URL+p, nil)
		res, packed := do(t, "GET", ts.URL+p, map[string]string{"Accept-Encoding": "gzip"})
		if res.Header.Get("Content-Encoding") != "gzip" || len(packed) >= len(plain) {
			t.Fatalf("%s: encoding %q, %d bytes against %d plain", p, res.Header.Get("Content-Encoding"), len(packed), len(plain))
		}
		zr, err := gzip.NewReader(bytes.NewReader(packed))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, plain) {
			t.Errorf("%s: gzip decodes to %d bytes that differ from the %d plain ones", p, len(got), len(plain))
		}
	}
}

// TestRevalidation: a browser that has a file answers its ETag back and
// gets 304, per encoding; a stale ETag gets the file.
func TestRevalidation(t *testing.T) {
	h, ts := newPage(t)
	for _, p := range []string{"/ui/", "/ui/s/" + h.Version() + "/app.css"} {
		for _, enc := range []string{"", "gzip"} {
			res, _ := do(t, "GET", ts.URL+p, map[string]string{"Accept-Encoding": enc})
			etag := res.Header.Get("ETag")
			if etag == "" {
				t.Fatalf("%s %q: no ETag", p, enc)
			}
			res, body := do(t, "GET", ts.URL+p, map[string]string{"Accept-Encoding": enc, "If-None-Match": `"old", ` + etag})
			if res.StatusCode != http.StatusNotModified || len(body) != 0 {
				t.Errorf("%s %q with its ETag: %d and %d bytes, want 304 and none", p, enc, res.StatusCode, len(body))
			}
			res, _ = do(t, "GET", ts.URL+p, map[string]string{"Accept-Encoding": enc, "If-None-Match": `"old"`})
			if res.StatusCode != http.StatusOK {
				t.Errorf("%s %q with a stale ETag: %d", p, enc, res.StatusCode)
			}
		}
		plain, _ := do(t, "GET", ts.URL+p, nil)
		packed, _ := do(t, "GET", ts.URL+p, map[string]string{"Accept-Encoding": "gzip"})
		if plain.Header.Get("ETag") == packed.Header.Get("ETag") {
			t.Errorf("%s: the gzip and plain encodings share the ETag %s", p, plain.Header.Get("ETag"))
		}
	}
}

// TestPageNamesThisBuild: index.html loads its files from this build's
// directory, so a year-long cache never serves an older file to a newer
// page.
func TestPageNamesThisBuild(t *testing.T) {
	h, ts := newPage(t)
	_, body := do(t, "GET", ts.URL+"/ui/", nil)
	if n := strings.Count(string(body), `"s/`+h.Version()+`/`); n < 4 {
		t.Errorf("index.html names s/%s/ %d times, want every stylesheet, script and icon:\n%s", h.Version(), n, body)
	}
	if len(h.Version()) != 12 {
		t.Errorf("version %q", h.Version())
	}
}

// TestServedByTheAPI: mounted in the collector's router (httpapi.Config.Page)
// the page answers at / and /ui/…, HEAD too, and the API beside it is
// untouched.
func TestServedByTheAPI(t *testing.T) {
	page, err := dashboard.New()
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "ntp.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	api, err := httpapi.New(httpapi.Config{Store: st, Page: page, Token: "page-test-token", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(api.Handler())
	t.Cleanup(ts.Close)
	for _, c := range []struct {
		method, path string
		status       int
		location     string
		ctype        string
	}{
		{"GET", "/", http.StatusFound, "ui/", ""},
		{"HEAD", "/", http.StatusFound, "ui/", ""},
		// Gin's own trailing-slash redirect, absolute: behind a proxy, link to ui/.
		{"GET", "/ui", http.StatusMovedPermanently, "/ui/", ""},
		{"GET", "/ui/", http.StatusOK, "", "text/html; charset=utf-8"},
		{"HEAD", "/ui/", http.StatusOK, "", "text/html; charset=utf-8"},
		{"GET", "/ui/s/" + page.Version() + "/js/app.js", http.StatusOK, "", "text/javascript; charset=utf-8"},
		{"GET", "/ui/s/" + page.Version() + "/nope.js", http.StatusNotFound, "", ""},
		{"POST", "/ui/", http.StatusMethodNotAllowed, "", ""},
		{"GET", "/api/ntp/history/clients", http.StatusOK, "", "application/json; charset=utf-8"},
	} {
		res, body := do(t, c.method, ts.URL+c.path, nil)
		if res.StatusCode != c.status || res.Header.Get("Location") != c.location || (c.ctype != "" && res.Header.Get("Content-Type") != c.ctype) {
			t.Errorf("%s %s: %d Location %q Content-Type %q, want %d %q %q (%.100s)", c.method, c.path, res.StatusCode,
				res.Header.Get("Location"), res.Header.Get("Content-Type"), c.status, c.location, c.ctype, body)
		}
		// The page's own policy wins over the API's under /ui/ and at /;
		// the API keeps its own. Both forbid framing and sniffing.
		wantCSP := dashboard.ContentSecurityPolicy
		if strings.HasPrefix(c.path, "/api/") {
			wantCSP = httpapi.ContentSecurityPolicy
		}
		if c.status < 300 || c.status == http.StatusFound {
			if got := res.Header.Get("Content-Security-Policy"); got != wantCSP {
				t.Errorf("%s %s: Content-Security-Policy %q, want %q", c.method, c.path, got, wantCSP)
			}
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s %s: nosniff %q, frame options %q", c.method, c.path, res.Header.Get("X-Content-Type-Options"), res.Header.Get("X-Frame-Options"))
		}
	}
}
