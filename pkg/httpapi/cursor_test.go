package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestListCursorWalk follows next_cursor through the list in several sort
// orders and gets the rows of one page holding them all, in order; the
// search endpoint takes the same cursor in its body.
func TestListCursorWalk(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	ts := newTestServer(t, st, nil)
	for _, order := range []string{"sort_by=last_seen", "sort_by=client_ip&sort_order=asc", "sort_by=latency", "sort_by=session_count&sort_order=asc"} {
		whole := decode[listBody](t, ts.do("GET", "/api/ntp/history/clients?page_size=1000&"+order, nil))
		if whole.Pagination.NextCursor != nil {
			t.Fatalf("%s: one page holds every row, yet next_cursor = %q", order, *whole.Pagination.NextCursor)
		}
		var got []string
		path := "/api/ntp/history/clients?page_size=7&" + order
		for range 100 {
			r := ts.do("GET", path, nil)
			wantStatus(t, r, http.StatusOK)
			b := decode[listBody](t, r)
			got = append(got, ips(b.Data)...)
			if b.Pagination.Total != int64(len(whole.Data)) {
				t.Fatalf("%s: total %d on a cursor page, want %d", order, b.Pagination.Total, len(whole.Data))
			}
			if b.Pagination.NextCursor == nil {
				break
			}
			path = "/api/ntp/history/clients?page_size=7&" + order + "&cursor=" + url.QueryEscape(*b.Pagination.NextCursor)
		}
		if want := ips(whole.Data); !slices.Equal(got, want) {
			t.Errorf("%s: by cursor %v\nwhole list %v", order, got, want)
		}
	}

	// Search: the first page's cursor in the body gives its second page.
	first := decode[listBody](t, ts.do("POST", "/api/ntp/history/search",
		map[string]any{"sort": map[string]any{"by": "client_ip", "order": "asc"}, "pagination": map[string]any{"page_size": 5}}))
	second := decode[listBody](t, ts.do("POST", "/api/ntp/history/search",
		map[string]any{"sort": map[string]any{"by": "client_ip", "order": "asc"}, "pagination": map[string]any{"page_size": 5, "cursor": *first.Pagination.NextCursor}}))
	byNumber := decode[listBody](t, ts.do("POST", "/api/ntp/history/search",
		map[string]any{"sort": map[string]any{"by": "client_ip", "order": "asc"}, "pagination": map[string]any{"page_size": 5, "page": 2}}))
	if !slices.Equal(ips(second.Data), ips(byNumber.Data)) || len(second.Data) != 5 {
		t.Errorf("search by cursor %v, page 2 %v", ips(second.Data), ips(byNumber.Data))
	}
}

func TestListCursorRefused(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	ts := newTestServer(t, st, nil)
	b := decode[listBody](t, ts.do("GET", "/api/ntp/history/clients?page_size=5&sort_by=client_ip", nil))
	cur := url.QueryEscape(*b.Pagination.NextCursor)
	tests := map[string]struct{ path, want string }{
		"garbage":    {"cursor=xyz", "cursor: not a cursor this API handed out"},
		"with page":  {"sort_by=client_ip&page=2&cursor=" + cur, "cursor: give either a cursor or a page number"},
		"other sort": {"sort_by=last_seen&cursor=" + cur, "cursor: it continues sort client_ip desc, not last_seen desc"},
		"other dir":  {"sort_by=client_ip&sort_order=asc&cursor=" + cur, "not client_ip asc"},
	}
	for name, tc := range tests {
		r := ts.do("GET", "/api/ntp/history/clients?"+tc.path, nil)
		wantStatus(t, r, http.StatusBadRequest)
		if !strings.Contains(r.Body.String(), tc.want) || !strings.Contains(r.Body.String(), `"field":"cursor"`) {
			t.Errorf("%s: %s, want %q and the field", name, r.Body.String(), tc.want)
		}
	}
	r := ts.do("POST", "/api/ntp/history/search", map[string]any{"pagination": map[string]any{"cursor": "!"}})
	wantStatus(t, r, http.StatusBadRequest)
	if !strings.Contains(r.Body.String(), `"field":"pagination.cursor"`) {
		t.Errorf("search with a bad cursor: %s", r.Body.String())
	}
}
