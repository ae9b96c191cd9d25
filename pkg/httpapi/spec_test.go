package httpapi

import (
	"bytes"
	"net/http"
	"os"
	"testing"
)

// GET /api/openapi.yaml serves api/openapi.yaml byte for byte, revalidated
// by its ETag.
func TestServeSpec(t *testing.T) {
	want, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, openStore(t), nil)
	r := ts.do("GET", "/api/openapi.yaml", nil)
	wantStatus(t, r, http.StatusOK)
	if !bytes.Equal(r.Body.Bytes(), want) {
		t.Errorf("served %d bytes that differ from %s (%d bytes)", r.Body.Len(), specPath, len(want))
	}
	etag := r.Header().Get("ETag")
	if ct := r.Header().Get("Content-Type"); ct != "application/yaml" || len(etag) < 10 {
		t.Errorf("Content-Type %q, ETag %q", ct, etag)
	}
	r = ts.do("GET", "/api/openapi.yaml", nil, "If-None-Match", etag)
	wantStatus(t, r, http.StatusNotModified)
	if r.Body.Len() != 0 {
		t.Errorf("304 with a body of %d bytes", r.Body.Len())
	}
	r = ts.do("GET", "/api/openapi.yaml", nil, "If-None-Match", `"other"`)
	wantStatus(t, r, http.StatusOK)
	r = ts.do("GET", "/api/openapi.yaml?v=1", nil)
	wantStatus(t, r, http.StatusBadRequest)
}
