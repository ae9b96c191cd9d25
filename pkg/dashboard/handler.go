package dashboard

import (
	"net/http"
	"strconv"
	"strings"
)

// Prefix is where the page lives on the collector: /ui/, with / redirecting
// to it.
const Prefix = "/ui/"

// Handler serves the page. It answers GET and HEAD for "/" (a redirect to
// ui/), "/ui" (the same) and everything under "/ui/"; it is mounted at the
// root of the collector's HTTP server, or of any mux that leaves the path
// untouched. Every URL it writes is relative, so the page works behind a
// reverse proxy that maps any prefix onto the collector's root.
type Handler struct {
	set *set
}

// New prepares the page: it reads the embedded files, compresses them and
// derives their validators, once.
func New() (*Handler, error) {
	s, err := load()
	if err != nil {
		return nil, err
	}
	return &Handler{set: s}, nil
}

// Version names this build of the page: the hash of every file in it. The
// static files are served under ui/s/<version>/.
func (h *Handler) Version() string { return h.set.version }

// Size reports the bytes of the whole page, index.html and every file it
// loads, as stored and as sent to a browser that accepts gzip.
func (h *Handler) Size() (raw, gzipped int) { return h.set.sizes() }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method "+r.Method+" is not allowed on the page", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "/" || p == strings.TrimSuffix(Prefix, "/") {
		// Relative, so that behind a proxy at /ntp/ the browser goes to
		// /ntp/ui/ (http.Redirect would make it absolute: /ui/). Found,
		// not Moved Permanently: the page may move.
		secure(w.Header())
		w.Header().Set("Location", strings.TrimPrefix(Prefix, "/"))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusFound)
		if r.Method != http.MethodHead {
			w.Write([]byte("the dashboard is at " + Prefix + "\n"))
		}
		return
	}
	rel, ok := strings.CutPrefix(p, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	a, immutable := h.set.lookup(rel)
	if a == nil {
		http.Error(w, "no such file in the dashboard: "+p, http.StatusNotFound)
		return
	}
	serve(w, r, a, immutable)
}

// serve writes one file with its validators, in gzip when the client takes
// it.
func serve(w http.ResponseWriter, r *http.Request, a *asset, immutable bool) {
	hd := w.Header()
	secure(hd)
	hd.Set("Content-Type", a.ctype)
	hd.Set("Vary", "Accept-Encoding")
	if immutable {
		// The name carries the content's hash: a new build has new names.
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		// index.html names the current build: always ask, 304 when equal.
		hd.Set("Cache-Control", "no-cache")
	}
	body, etag := a.body, a.etag
	if a.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, etag = a.gz, a.etag+".gz"
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("ETag", `"`+etag+`"`)
	if matches(r.Header.Get("If-None-Match"), etag) {
		hd.Del("Content-Type")
		hd.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// acceptsGzip reads an Accept-Encoding header: gzip (or *) listed without
// q=0.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(strings.TrimSpace(params), " ", ""), "q=")
		if !ok {
			return true
		}
		if v, err := strconv.ParseFloat(q, 64); err != nil || v > 0 {
			return true
		}
	}
	return false
}

// matches reports whether an If-None-Match header names etag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func matches(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		t := strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if t == "*" || t == `"`+etag+`"` {
			return true
		}
	}
	return false
}
