package clientview

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient"
	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient/apiclienttest"
	"github.com/ntp-monitor/ntp-monitor/pkg/termtable/termtabletest"
)

// now is the clock of the server and of the tables; the population's
// sessions are captured before it.
var now = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

const (
	a = apiclienttest.AddrA
	b = apiclienttest.AddrB
	c = apiclienttest.AddrC
	d = apiclienttest.AddrD
)

// api serves the population from a real store through the real HTTP API.
func api(t *testing.T) *apiclient.Client {
	t.Helper()
	srv := apiclienttest.Start(t, apiclienttest.Options{Now: func() time.Time { return now }})
	srv.Commit(t, apiclienttest.Population(now)...)
	cl, err := apiclient.New(srv.URL, apiclient.Token{})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func mustOrder(t *testing.T, name, dir string) Order {
	t.Helper()
	o, err := ParseOrder(name, dir)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func addrs(rows []apiclient.ClientRow) string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.ClientIP
	}
	return strings.Join(out, " ")
}

// Every order gives the one right answer for the population, whether the
// API sorts or this package does. Ties (clients with equal figures) are
// written as alternatives.
func TestSelectOrders(t *testing.T) {
	cl := api(t)
	tests := []struct {
		sort, dir string
		want      []string // acceptable orders
	}{
		{"last_seen", "", []string{"A C D B"}},
		{"first_seen", "", []string{"A C D B"}},
		{"requests", "", []string{"A B C D"}},
		{"requests", "asc", []string{"D C B A"}},
		{"unanswered", "", []string{"B C A D", "B C D A"}},
		{"address", "", []string{"A C D B"}},
		{"address", "desc", []string{"B D C A"}},
		{"latency", "", []string{"C A D B"}},      // B has no latency: last
		{"latency", "asc", []string{"D A C B"}},   // and last this way too
		{"interval", "", []string{"C A B D"}},     // D (one request) has no interval
		{"interval", "desc", []string{"B A C D"}}, // still last
		{"processing", "", []string{"C D A B"}},
		{"kod", "", []string{"C A D B"}}, // the others tie at 0 and keep last_seen order
	}
	names := map[string]string{a: "A", b: "B", c: "C", d: "D"}
	for _, tc := range tests {
		t.Run(tc.sort+" "+tc.dir, func(t *testing.T) {
			res, err := Select(context.Background(), cl, Query{Order: mustOrder(t, tc.sort, tc.dir)})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res.Rows {
				got = append(got, names[r.ClientIP])
			}
			if !slices.Contains(tc.want, strings.Join(got, " ")) {
				t.Errorf("order %s, want %s", strings.Join(got, " "), strings.Join(tc.want, " or "))
			}
			if res.Total != 4 || res.Scanned != 4 || res.Note != "" {
				t.Errorf("total %d, scanned %d, note %q; want 4, 4 and none", res.Total, res.Scanned, res.Note)
			}
		})
	}
}

func TestSelectFiltersAndLimit(t *testing.T) {
	cl := api(t)
	ctx := context.Background()
	tests := []struct {
		name string
		q    Query
		want string
		note string
	}{
		{"cidr", Query{CIDR: "2001:db8::/32", Order: mustOrder(t, "last_seen", "")}, b, ""},
		{"interface", Query{Interface: "eth1", Order: mustOrder(t, "requests", "")}, c + " " + d, ""},
		{"limit, API order", Query{Limit: 2, Order: mustOrder(t, "requests", "")}, a + " " + b, ""},
		// Pages of one row: paging goes on until the limit.
		{"limit over pages", Query{Limit: 3, Order: mustOrder(t, "address", "")}, a + " " + c + " " + d, ""},
		// An order sorted here over the 2 most recent clients (A, C) of 4.
		{"scan bounded", Query{Limit: 1, Scan: 2, Order: mustOrder(t, "kod", "")}, c,
			"the API cannot sort by kod yet: these are the 2 most recently seen of 4 matching clients, sorted here"},
		// An order the API sorts is over every matching client, whatever Scan says.
		{"API order, scan ignored", Query{Limit: 1, Scan: 2, Order: mustOrder(t, "interval", "")}, c, ""},
		{"no match", Query{CIDR: "203.0.113.0/24", Order: mustOrder(t, "interval", "")}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Select(ctx, cl, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := addrs(res.Rows); got != tc.want {
				t.Errorf("rows %q, want %q", got, tc.want)
			}
			if res.Note != tc.note {
				t.Errorf("note %q, want %q", res.Note, tc.note)
			}
		})
	}
}

func TestParseOrder(t *testing.T) {
	tests := []struct {
		name, dir string
		api       string
		desc      bool
		err       string
	}{
		{"requests", "", "session_count", true, ""},
		{"requests", "asc", "session_count", false, ""},
		{"address", "", "client_ip", false, ""},
		{"interval", "", "interval", false, ""},
		{"interval", "desc", "interval", true, ""},
		{"processing", "", "processing", true, ""},
		{"kod", "", "", true, ""},
		{"sessions", "", "", false, `--sort "sessions": want one of last_seen, first_seen, requests`},
		{"requests", "up", "", false, `--order "up": want asc or desc`},
	}
	for _, tc := range tests {
		o, err := ParseOrder(tc.name, tc.dir)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseOrder(%q, %q): %v, want %q", tc.name, tc.dir, err, tc.err)
			}
			continue
		}
		if err != nil || o.APIField() != tc.api || o.Desc != tc.desc {
			t.Errorf("ParseOrder(%q, %q) = %s %s (api %q), %v", tc.name, tc.dir, o.Name(), o.Direction(), o.APIField(), err)
		}
	}
}

// The sort table follows the API contract: every API field it uses is one
// api/openapi.yaml offers, and an order it sorts here is one the API does
// not offer under that name yet; when the API adds it, this test says to
// map it.
func TestSortKeysMatchSpec(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromFile("../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var offered []string
	for _, p := range doc.Paths.Find("/api/ntp/history/clients").Get.Parameters {
		if p.Value.Name == "sort_by" {
			for _, e := range p.Value.Schema.Value.Enum {
				offered = append(offered, e.(string))
			}
		}
	}
	if len(offered) == 0 {
		t.Fatal("no sort_by enum in the spec")
	}
	for _, k := range sortKeys {
		switch {
		case k.api != "" && !slices.Contains(offered, k.api):
			t.Errorf("--sort %s maps to sort_by=%s, which the API does not offer (%v)", k.name, k.api, offered)
		case k.api == "" && slices.Contains(offered, k.name):
			t.Errorf("the API now offers sort_by=%s: set api in its sortKeys line", k.name)
		}
	}
}

// The tables are rendered from rows the real API sent for the population
// (sorted by requests), frozen in testdata/population.json so the golden
// outputs test the formatting alone; -update asks the API again.
func TestTablesGolden(t *testing.T) {
	path := filepath.Join("testdata", "population.json")
	if termtabletest.Updating() {
		res, err := Select(context.Background(), api(t), Query{Order: mustOrder(t, "requests", "")})
		if err != nil {
			t.Fatal(err)
		}
		data, err := json.MarshalIndent(apiclient.ClientList{Data: res.Rows}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var list apiclient.ClientList
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file string
		cols Columns
	}{
		{"full.txt", Full()},
		{"brief.txt", Brief()},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.cols.Write(&buf, list.Data, now); err != nil {
				t.Fatal(err)
			}
			termtabletest.Golden(t, tc.file, buf.String())
		})
	}
}

func TestWriteJSON(t *testing.T) {
	cl := api(t)
	for _, tc := range []struct{ sort, apiSortBy string }{{"requests", "session_count"}, {"interval", "interval"}, {"kod", ""}} {
		o := mustOrder(t, tc.sort, "")
		res, err := Select(context.Background(), cl, Query{Order: o, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteJSON(&buf, cl.URL(), o, res, now); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			API         string    `json:"api"`
			GeneratedAt time.Time `json:"generated_at"`
			Sort        struct {
				By        string  `json:"by"`
				Order     string  `json:"order"`
				APISortBy *string `json:"api_sort_by"`
			} `json:"sort"`
			Total   int64            `json:"total"`
			Scanned int              `json:"scanned"`
			Data    []map[string]any `json:"data"`
		}
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatalf("%v\n%s", err, buf.String())
		}
		gotAPI := ""
		if doc.Sort.APISortBy != nil {
			gotAPI = *doc.Sort.APISortBy
		}
		if doc.API != cl.URL() || !doc.GeneratedAt.Equal(now) || doc.Sort.By != tc.sort || gotAPI != tc.apiSortBy ||
			doc.Total != 4 || len(doc.Data) != 2 {
			t.Errorf("--sort %s: %+v", tc.sort, doc)
		}
		// The rows are the API's objects, whole.
		if len(doc.Data[0]) < 50 || doc.Data[0]["client_ip"] != res.Rows[0].ClientIP {
			t.Errorf("--sort %s: first row %v is not the API's Client object", tc.sort, doc.Data[0])
		}
	}
	var buf bytes.Buffer
	WriteJSON(&buf, "http://x", mustOrder(t, "requests", ""), &Result{}, now)
	if !strings.Contains(buf.String(), `"data": []`) {
		t.Errorf("no rows encode as %s, want \"data\": []", buf.String())
	}
}
