package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

// fuzzContext returns a function that sets up one gin context for each
// request, as a handler gets it. The context and request are reused: a
// fuzz target runs its inputs one at a time.
func fuzzContext() func(method, rawQuery string, body []byte) *gin.Context {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Content-Type", "application/json")
	rd := bytes.NewReader(nil)
	return func(method, rawQuery string, body []byte) *gin.Context {
		rd.Reset(body)
		req.Method, req.URL.RawQuery, req.Body = method, rawQuery, io.NopCloser(rd)
		c.Request = req
		return c
	}
}

// checkClear fails unless err is the package's validation error, which
// answers 400 naming its field: any other error would be a 500.
func checkClear(t *testing.T, what string, err error) {
	var ve *validationError
	if !errors.As(err, &ve) {
		t.Fatalf("%s: %T %v, want a validation error", what, err, err)
	}
	if ve.code == "" || ve.msg == "" {
		t.Fatalf("%s: validation error without code or message: %+v", what, ve)
	}
}

// The query string of GET /api/ntp/history/clients: whatever the bytes,
// parsing ends in parameters within their limits or in a 400 that names
// the parameter, never a panic.
func FuzzListQuery(f *testing.F) {
	for _, s := range []string{
		"", "page=1&page_size=10", "search_ip=192.168.1.100", "interface_name=eth0",
		"cidr=10.0.0.0/8&ntp_version=4", "seen_after=2026-11-25T00:00:00Z&seen_before=2026-11-26T00:00:00Z",
		"max_interval=64&sort_by=session_count&sort_order=desc", "page=0", "page=%zz", "page=1&page=2",
		"cidr=fe80::%25eth0/64", "unknown=1", "search_ip=" + string(make([]byte, 300)),
	} {
		f.Add(s)
	}
	ctx := fuzzContext()
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := parseListQuery(ctx(http.MethodGet, raw, nil))
		if err != nil {
			checkClear(t, "query "+raw, err)
			return
		}
		if p.page.Number < 1 || p.page.Number > maxPage || p.page.Size < 1 || p.page.Size > maxPageSize {
			t.Fatalf("query %q: page %+v out of its limits", raw, p.page)
		}
		f := p.filter
		if !f.SeenAfter.IsZero() && !f.SeenBefore.IsZero() && !f.SeenAfter.Before(f.SeenBefore) {
			t.Fatalf("query %q: empty window %v … %v accepted", raw, f.SeenAfter, f.SeenBefore)
		}
		for _, pr := range f.Prefixes {
			if !pr.IsValid() || pr.Addr().Zone() != "" {
				t.Fatalf("query %q: prefix %v accepted", raw, pr)
			}
		}
	})
}

// The JSON bodies of POST search and export: decoded and turned into a
// filter, or refused with a 400 that names the field; never a panic, and a
// list beyond its limit is never accepted.
func FuzzSearchBody(f *testing.F) {
	for _, s := range []string{
		`{}`, ``,
		`{"filters": {"client_ips": ["192.168.1.100", "192.168.1.101"], "interface_names": ["eth0"]}, "pagination": {"page": 1, "page_size": 20}}`,
		`{"format": "json", "limit": 1000, "filters": {"interface_name": "eth0"}}`,
		`{"filters": {"cidrs": ["10.0.0.0/8", "2001:db8::/32"], "ntp_versions": [3, 4], "stratum": {"min": 1, "max": 3}}}`,
		`{"filters": {"seen_after": "2026-11-25T00:00:00Z", "max_interval": 1e308, "has_kod": true}}`,
		`{"sort": {"by": "last_seen", "order": "asc"}}`, `{"filters": null}`, `[1]`, `{"a":1}`, `{} {}`,
		`{"filters": {"client_ips": [1]}}`, `{"pagination": {"page": -1}}`,
	} {
		f.Add([]byte(s))
	}
	ctx := fuzzContext()
	f.Fuzz(func(t *testing.T, body []byte) {
		var sb searchBody
		if err := decodeJSON(ctx(http.MethodPost, "", body), &sb, true); err != nil {
			checkClear(t, "search body", err)
		} else {
			checkFilters(t, sb.Filters)
			if sb.Sort != nil {
				if _, err := parseSort("sort.by", "sort.order", sb.Sort.By, sb.Sort.Order, bodyErr); err != nil {
					checkClear(t, "sort", err)
				}
			}
		}
		var eb exportBody
		if err := decodeJSON(ctx(http.MethodPost, "", body), &eb, false); err != nil {
			checkClear(t, "export body", err)
			return
		}
		checkFilters(t, eb.Filters)
	})
}

func checkFilters(t *testing.T, b *filtersBody) {
	t.Helper()
	f, err := b.filter("filters.")
	if err != nil {
		checkClear(t, "filters", err)
		return
	}
	for name, n := range map[string]int{"client_ips": len(f.IPs), "interface_names": len(f.Interfaces),
		"cidrs": len(f.Prefixes), "ntp_versions": len(f.Versions)} {
		if n > maxListValues {
			t.Fatalf("filters.%s: %d values accepted, the limit is %d", name, n, maxListValues)
		}
	}
}
