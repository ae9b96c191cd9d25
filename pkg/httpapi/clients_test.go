package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestListEmptyDB(t *testing.T) {
	ts := newTestServer(t, openStore(t), nil)
	r := ts.do("GET", "/api/ntp/history/clients", nil)
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body.String(), `"data":[]`) {
		t.Errorf("empty list must be [] not null: %s", r.Body.String())
	}
	b := decode[listBody](t, r)
	if b.Pagination.Total != 0 || b.Pagination.TotalPages != 0 || b.Pagination.Page != 1 || b.Pagination.PageSize != 20 {
		t.Errorf("pagination = %+v", b.Pagination)
	}
}

func TestListPagination(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	ts := newTestServer(t, st, nil)
	const total = 45 + 6 // bulk + hand-made rows

	var seen []string
	for page := 1; ; page++ {
		r := ts.do("GET", "/api/ntp/history/clients?page_size=20&page="+itoa(page), nil)
		wantStatus(t, r, http.StatusOK)
		b := decode[listBody](t, r)
		if b.Pagination.Total != total || b.Pagination.TotalPages != 3 || b.Pagination.Page != page {
			t.Fatalf("page %d: pagination %+v", page, b.Pagination)
		}
		if len(b.Data) == 0 {
			if page != 4 {
				t.Fatalf("page %d empty", page)
			}
			break // page beyond the end: empty, 200
		}
		want := 20
		if page == 3 {
			want = total - 40 // last page is partial
		}
		if len(b.Data) != want {
			t.Fatalf("page %d: %d rows, want %d", page, len(b.Data), want)
		}
		seen = append(seen, ips(b.Data)...)
	}
	if len(seen) != total {
		t.Fatalf("saw %d rows over all pages, want %d", len(seen), total)
	}
	sorted := slices.Clone(seen)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != total {
		t.Errorf("pages overlap: %v", seen)
	}
	// Far beyond the end.
	r := ts.do("GET", "/api/ntp/history/clients?page=10000000", nil)
	wantStatus(t, r, http.StatusOK)
	if b := decode[listBody](t, r); len(b.Data) != 0 || b.Pagination.Total != total {
		t.Errorf("page far beyond the end: %+v", b.Pagination)
	}
}

func itoa(i int) string { return formatInt(int64(i)) }

func TestListFilters(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	ts := newTestServer(t, st, nil)
	seenAfter := url.QueryEscape(base.Add(8 * time.Second).Format(time.RFC3339))
	tests := []struct {
		query string
		want  []string // client_ip@interface, any order
		count int      // when want is nil
	}{
		{query: "interface_name=eth1", want: []string{"198.51.100.7@eth1", "2001:db8::2:1@eth1"}},
		{query: "interface_name=" + url.QueryEscape(weirdIface), want: []string{"2001:db8::1@" + weirdIface}},
		{query: "ntp_version=3", want: []string{"192.0.2.2@eth0"}},
		{query: "ntp_version=2", want: []string{"2001:db8::2:1@eth1"}},
		{query: "cidr=192.0.2.0/24", want: []string{"192.0.2.1@eth0", "192.0.2.2@eth0"}},
		{query: "cidr=192.0.2.2/32", want: []string{"192.0.2.2@eth0"}},
		{query: "cidr=2001:db8::/112", want: []string{"2001:db8::1@eth0", "2001:db8::1@" + weirdIface}},
		{query: "cidr=2001:db8::/32", want: []string{"2001:db8::1@eth0", "2001:db8::1@" + weirdIface, "2001:db8::2:1@eth1"}},
		{query: "cidr=10.20.0.0/28", count: 16},
		{query: "cidr=0.0.0.0/0", count: 45 + 3},
		{query: "search_ip=198.51", want: []string{"198.51.100.7@eth1"}},
		{query: "search_ip=2:1", want: []string{"2001:db8::2:1@eth1"}},
		{query: "search_ip=DB8::1", want: []string{"2001:db8::1@eth0", "2001:db8::1@" + weirdIface}},
		{query: "seen_after=" + seenAfter + "&interface_name=eth0", want: []string{"192.0.2.1@eth0", "2001:db8::1@eth0"}},
		{query: "seen_before=" + url.QueryEscape(base.Add(-30*time.Minute).Format(time.RFC3339)), count: 10},
		// combined
		{query: "interface_name=eth0&ntp_version=4&cidr=192.0.2.0/24", want: []string{"192.0.2.1@eth0"}},
		{query: "interface_name=eth1&search_ip=2001", want: []string{"2001:db8::2:1@eth1"}},
		{query: "interface_name=nope", want: []string{}},
		// Mean request interval: 192.0.2.1 asks every 10 s, 198.51.100.7
		// every second; the others sent one request and have none.
		{query: "max_interval=1", want: []string{"198.51.100.7@eth1"}},
		{query: "max_interval=9.999", want: []string{"198.51.100.7@eth1"}},
		{query: "max_interval=10", want: []string{"192.0.2.1@eth0", "198.51.100.7@eth1"}},
		{query: "max_interval=0.5", want: []string{}},
		{query: "max_interval=86400&interface_name=eth0", want: []string{"192.0.2.1@eth0"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := ts.do("GET", "/api/ntp/history/clients?page_size=1000&"+tt.query, nil)
			wantStatus(t, r, http.StatusOK)
			b := decode[listBody](t, r)
			got := ips(b.Data)
			if int(b.Pagination.Total) != len(got) {
				t.Errorf("total %d, rows %d", b.Pagination.Total, len(got))
			}
			if tt.want == nil {
				if len(got) != tt.count {
					t.Errorf("%d rows, want %d: %v", len(got), tt.count, got)
				}
				return
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestListSort(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	ts := newTestServer(t, st, nil)
	get := func(q string) []map[string]any {
		r := ts.do("GET", "/api/ntp/history/clients?page_size=1000&"+q, nil)
		wantStatus(t, r, http.StatusOK)
		return decode[listBody](t, r).Data
	}
	checkOrder := func(name string, rows []map[string]any, key func(map[string]any) float64, desc bool) {
		t.Helper()
		for i := 1; i < len(rows); i++ {
			a, b := key(rows[i-1]), key(rows[i])
			if desc && a < b || !desc && a > b {
				t.Errorf("%s: row %d (%v) and %d (%v) out of order", name, i-1, a, i, b)
			}
		}
	}
	tsKey := func(col string) func(map[string]any) float64 {
		return func(r map[string]any) float64 {
			tm, err := time.Parse(time.RFC3339Nano, r[col].(string))
			if err != nil {
				t.Fatal(err)
			}
			return float64(tm.UnixNano())
		}
	}
	num := func(col string) func(map[string]any) float64 {
		return func(r map[string]any) float64 { return r[col].(float64) }
	}
	for _, order := range []string{"asc", "desc"} {
		desc := order == "desc"
		checkOrder("last_seen "+order, get("sort_by=last_seen&sort_order="+order), tsKey("last_seen_timestamp"), desc)
		checkOrder("first_seen "+order, get("sort_by=first_seen&sort_order="+order), tsKey("first_seen_timestamp"), desc)
		checkOrder("session_count "+order, get("sort_by=session_count&sort_order="+order), num("session_count"), desc)
		checkOrder("unanswered "+order, get("sort_by=unanswered&sort_order="+order), num("unanswered_count"), desc)
		// Means: clients without one come last in both directions.
		for sortBy, col := range map[string]string{"latency": "avg_latency_seconds",
			"processing": "avg_processing_seconds", "interval": "avg_request_interval_seconds"} {
			rows := get("sort_by=" + sortBy + "&sort_order=" + order)
			n := 0
			for n < len(rows) && rows[n][col] != nil {
				n++
			}
			for _, r := range rows[n:] {
				if r[col] != nil {
					t.Errorf("%s %s: a client with %s after one without", sortBy, order, col)
				}
			}
			checkOrder(sortBy+" "+order, rows[:n], num(col), desc)
			if n < 2 || n == len(rows) {
				t.Errorf("%s %s: %d of %d rows have %s; the fixture should give both kinds", sortBy, order, n, len(rows), col)
			}
		}
	}
	// Default: newest first.
	checkOrder("default", get(""), tsKey("last_seen_timestamp"), true)
	// client_ip orders addresses numerically, IPv4 before IPv6.
	rows := get("sort_by=client_ip&sort_order=asc&cidr=10.20.0.0/24")
	if rows[0]["client_ip"] != "10.20.0.0" || rows[2]["client_ip"] != "10.20.0.2" || rows[10]["client_ip"] != "10.20.0.10" {
		t.Errorf("client_ip order is not numeric: %v", ips(rows[:11]))
	}
	rows = get("sort_by=client_ip&sort_order=desc")
	if rows[0]["client_ip"] != "2001:db8::2:1" {
		t.Errorf("client_ip desc starts with %v", rows[0]["client_ip"])
	}
}

func TestClientRowContent(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	ts := newTestServer(t, st, nil)
	r := ts.do("GET", "/api/ntp/history/clients/192.0.2.1", nil)
	wantStatus(t, r, http.StatusOK)
	b := decode[struct {
		ClientIP string           `json:"client_ip"`
		Data     []map[string]any `json:"data"`
	}](t, r)
	if b.ClientIP != "192.0.2.1" || len(b.Data) != 1 {
		t.Fatalf("detail = %+v", b)
	}
	row := b.Data[0]
	want := map[string]any{
		"client_ip": "192.0.2.1", "interface_name": "eth0", "session_count": 3.0, "answered_count": 3.0,
		"unanswered_count": 0.0, "ntp_version": 4.0, "stratum": 2.0, "reference_id": "192.0.2.200",
		"leap_indicator": "no_warning", "answer_ratio": 1.0, "avg_request_interval_seconds": 10.0,
		"first_seen_timestamp": "2026-11-25T12:00:10.000000000Z", "last_seen_timestamp": "2026-11-25T12:00:30.000000000Z",
		"last_kod_code": nil, "client_to_server_latency_seconds": 0.003,
	}
	for k, v := range want {
		if row[k] != v {
			t.Errorf("%s = %#v, want %#v", k, row[k], v)
		}
	}
	if got := row["avg_latency_seconds"].(float64); got < 0.00199999 || got > 0.00200001 {
		t.Errorf("avg_latency_seconds = %v, want 0.002", got)
	}
	if _, ok := row["client_ip_bytes"]; ok {
		t.Error("client_ip_bytes leaks into the API")
	}

	r = ts.do("GET", "/api/ntp/history/clients/198.51.100.7", nil)
	row = decode[struct{ Data []map[string]any }](t, r).Data[0]
	// One real answer and one RATE Kiss-o'-Death: a KoD is a refusal, so
	// half of the requests were answered.
	if row["kod_count"] != 1.0 || row["last_kod_code"] != "RATE" || row["answer_ratio"] != 0.5 {
		t.Errorf("KoD row: kod_count %v last_kod_code %v answer_ratio %v", row["kod_count"], row["last_kod_code"], row["answer_ratio"])
	}
	r = ts.do("GET", "/api/ntp/history/clients/192.0.2.2", nil)
	row = decode[struct{ Data []map[string]any }](t, r).Data[0]
	if row["answer_ratio"] != 0.0 || row["avg_latency_seconds"] != nil || row["stratum"] != nil || row["avg_request_interval_seconds"] != nil {
		t.Errorf("unanswered row: %v", row)
	}
}

func TestClientDetailIPv6Spellings(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	ts := newTestServer(t, st, nil)
	for _, spelling := range []string{
		"2001:db8::1", "2001:DB8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8:0:0::0:1",
		"2001:db8::0.0.0.1", url.PathEscape("2001:db8::1%eth0"),
	} {
		r := ts.do("GET", "/api/ntp/history/clients/"+spelling, nil)
		wantStatus(t, r, http.StatusOK)
		b := decode[struct {
			ClientIP string           `json:"client_ip"`
			Data     []map[string]any `json:"data"`
		}](t, r)
		got := ips(b.Data)
		if want := []string{"2001:db8::1@eth0", "2001:db8::1@" + weirdIface}; !slices.Equal(got, want) {
			t.Errorf("%s: rows %v, want %v", spelling, got, want)
		}
	}
	// IPv4 as an IPv4-mapped IPv6 address finds the IPv4 row.
	r := ts.do("GET", "/api/ntp/history/clients/::ffff:192.0.2.1", nil)
	wantStatus(t, r, http.StatusOK)
	// The same spellings work in search.
	r = ts.do("POST", "/api/ntp/history/search", map[string]any{"filters": map[string]any{
		"client_ips": []string{"2001:0DB8::0001", "::ffff:c000:0202"}}})
	wantStatus(t, r, http.StatusOK)
	got := ips(decode[listBody](t, r).Data)
	slices.Sort(got)
	if want := []string{"192.0.2.2@eth0", "2001:db8::1@eth0", "2001:db8::1@" + weirdIface}; !slices.Equal(got, want) {
		t.Errorf("search by spellings: %v", got)
	}
	wantStatus(t, ts.do("GET", "/api/ntp/history/clients/2001:db8::99", nil), http.StatusNotFound)
}

func TestSearch(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	ts := newTestServer(t, st, nil)
	tests := []struct {
		name    string
		filters map[string]any
		want    []string
		count   int
	}{
		{"interfaces", map[string]any{"interface_names": []string{"eth1", weirdIface}},
			[]string{"198.51.100.7@eth1", "2001:db8::2:1@eth1", "2001:db8::1@" + weirdIface}, 0},
		{"cidrs OR", map[string]any{"cidrs": []string{"192.0.2.1/32", "2001:db8::2:0/112"}},
			[]string{"192.0.2.1@eth0", "2001:db8::2:1@eth1"}, 0},
		{"versions", map[string]any{"ntp_versions": []int{2, 3}}, []string{"192.0.2.2@eth0", "2001:db8::2:1@eth1"}, 0},
		{"stratum range", map[string]any{"stratum": map[string]any{"min": 3, "max": 15}}, []string{"2001:db8::1@eth0"}, 0},
		{"stratum max 0", map[string]any{"stratum": map[string]any{"max": 0}}, []string{"198.51.100.7@eth1"}, 0},
		{"min_sessions", map[string]any{"min_sessions": 3}, []string{"192.0.2.1@eth0"}, 0},
		{"has_unanswered", map[string]any{"has_unanswered": true}, []string{"192.0.2.2@eth0"}, 0},
		{"has_kod", map[string]any{"has_kod": true}, []string{"198.51.100.7@eth1"}, 0},
		{"has_kod false", map[string]any{"has_kod": false, "interface_names": []string{"eth1"}}, []string{"2001:db8::2:1@eth1"}, 0},
		{"window", map[string]any{"seen_after": base.Add(-10 * time.Minute).Format(time.RFC3339),
			"seen_before": base.Add(time.Second).Format(time.RFC3339)}, nil, 11},
		{"combined", map[string]any{"interface_names": []string{"eth0"}, "ntp_versions": []int{4},
			"cidrs": []string{"2000::/3"}, "has_unanswered": false}, []string{"2001:db8::1@eth0"}, 0},
		// IPv4 clients live in ::ffff:0:0/96 of the 16-byte space, so ::/0 holds every client.
		{"all of ::/0", map[string]any{"cidrs": []string{"::/0"}}, nil, 51},
		{"search_ip", map[string]any{"search_ip": "192.0.2."}, []string{"192.0.2.1@eth0", "192.0.2.2@eth0"}, 0},
		{"no filters", nil, nil, 51},
		// The seed's spellings: one address, one interface.
		{"interface_name", map[string]any{"interface_name": "eth1"}, []string{"198.51.100.7@eth1", "2001:db8::2:1@eth1"}, 0},
		{"client_ip", map[string]any{"client_ip": "2001:DB8::1"}, []string{"2001:db8::1@eth0", "2001:db8::1@" + weirdIface}, 0},
		{"client_ip and client_ips", map[string]any{"client_ip": "192.0.2.1", "client_ips": []string{"192.0.2.2"}},
			[]string{"192.0.2.1@eth0", "192.0.2.2@eth0"}, 0},
		{"interface_name and interface_names", map[string]any{"interface_name": "eth1", "interface_names": []string{weirdIface}},
			[]string{"198.51.100.7@eth1", "2001:db8::2:1@eth1", "2001:db8::1@" + weirdIface}, 0},
		{"client_ip on interface_name", map[string]any{"client_ip": "2001:db8::1", "interface_name": "eth0"}, []string{"2001:db8::1@eth0"}, 0},
		{"max_interval", map[string]any{"max_interval": 10}, []string{"192.0.2.1@eth0", "198.51.100.7@eth1"}, 0},
		{"max_interval fraction", map[string]any{"max_interval": 1.5}, []string{"198.51.100.7@eth1"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := map[string]any{"pagination": map[string]any{"page_size": 1000}}
			if tt.filters != nil {
				body["filters"] = tt.filters
			}
			r := ts.do("POST", "/api/ntp/history/search", body)
			wantStatus(t, r, http.StatusOK)
			got := ips(decode[listBody](t, r).Data)
			if tt.want == nil {
				if len(got) != tt.count {
					t.Errorf("%d rows, want %d", len(got), tt.count)
				}
				return
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
	// Sort and pagination in the body.
	r := ts.do("POST", "/api/ntp/history/search", map[string]any{
		"filters": map[string]any{"interface_names": []string{"bulk"}},
		"sort":    map[string]any{"by": "first_seen", "order": "asc"}, "pagination": map[string]any{"page": 3, "page_size": 10}})
	wantStatus(t, r, http.StatusOK)
	b := decode[listBody](t, r)
	if b.Pagination.Total != 45 || b.Pagination.TotalPages != 5 || len(b.Data) != 10 || b.Data[0]["client_ip"] != "10.20.0.20" {
		t.Errorf("search page 3: %+v first %v", b.Pagination, b.Data[0]["client_ip"])
	}
	// An empty body is a search for everything.
	r = ts.do("POST", "/api/ntp/history/search", "")
	wantStatus(t, r, http.StatusOK)
	if b := decode[listBody](t, r); b.Pagination.Total != 51 {
		t.Errorf("empty body: total %d", b.Pagination.Total)
	}
}

// TestListsAtTheDocumentedLimit: search and export take 1,000 values in
// each list filter. 1,000 CIDRs answered 500 (SQLite's "Expression tree
// is too large") and broke the export off.
func TestListsAtTheDocumentedLimit(t *testing.T) {
	st := openStore(t)
	fixture(t, st)
	ts := newTestServer(t, st, nil)
	var cidrs, addrs, ifaces []string
	for k := range maxListValues {
		cidrs = append(cidrs, fmt.Sprintf("10.20.%d.%d/32", k/256, k%256)) // 45 hold the bulk clients
		addrs = append(addrs, fmt.Sprintf("2001:db8::%x", k))              // ::1 has two rows
		ifaces = append(ifaces, fmt.Sprintf("eth%d", k))                   // eth0 and eth1 hold five
	}
	for _, tt := range []struct {
		name    string
		filters map[string]any
		want    int64
	}{
		{"1,000 cidrs", map[string]any{"cidrs": cidrs}, 45},
		{"1,000 client_ips", map[string]any{"client_ips": addrs}, 2},
		{"1,000 interface_names", map[string]any{"interface_names": ifaces}, 5},
		{"all three", map[string]any{"cidrs": cidrs, "client_ips": addrs, "interface_names": ifaces}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("POST", "/api/ntp/history/search", map[string]any{"filters": tt.filters})
			wantStatus(t, r, http.StatusOK)
			if got := decode[listBody](t, r).Pagination.Total; got != tt.want {
				t.Errorf("search total %d, want %d", got, tt.want)
			}
			r = ts.do("POST", "/api/ntp/history/export", map[string]any{"format": "ndjson", "filters": tt.filters})
			wantStatus(t, r, http.StatusOK)
			if n := int64(strings.Count(r.Body.String(), "\n")); n != tt.want {
				t.Errorf("export: %d rows, want %d", n, tt.want)
			}
		})
	}
	r := ts.do("POST", "/api/ntp/history/search", map[string]any{"filters": map[string]any{"cidrs": append(cidrs, "10.0.0.0/8")}})
	wantStatus(t, r, http.StatusBadRequest)
}
