package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/apiclient/apiclienttest"
)

var now = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func population(t *testing.T, o apiclienttest.Options) (*apiclienttest.Server, *Client) {
	t.Helper()
	o.Now = func() time.Time { return now }
	srv := apiclienttest.Start(t, o)
	srv.Commit(t, apiclienttest.Population(now)...)
	c, err := New(srv.URL, Token{})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func TestListClients(t *testing.T) {
	_, c := population(t, apiclienttest.Options{})
	ctx := context.Background()
	l, err := c.ListClients(ctx, ListQuery{SortBy: "session_count", SortOrder: "desc", PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if l.Pagination.Total != 4 || l.Pagination.TotalPages != 2 || len(l.Data) != 3 {
		t.Fatalf("pagination %+v with %d rows, want 4 rows over 2 pages, 3 here", l.Pagination, len(l.Data))
	}
	a := l.Data[0]
	if a.ClientIP != apiclienttest.AddrA || a.InterfaceName != "eth0" || a.SessionCount != 10 || a.AnsweredCount != 10 ||
		a.AvgRequestInterval == nil || *a.AvgRequestInterval != 4 || a.PollInterval == nil || *a.PollInterval != 6 {
		t.Errorf("first row %+v, want A with 10 answered requests every 4 s", a)
	}
	wantLast := now.Add(-3*time.Minute - 10*time.Second)
	if !a.LastSeen.Equal(wantLast) {
		t.Errorf("A last seen %v, want %v", a.LastSeen, wantLast)
	}

	l, err = c.ListClients(ctx, ListQuery{CIDR: "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Data) != 1 || l.Data[0].ClientIP != apiclienttest.AddrB || l.Data[0].UnansweredCount != 3 || l.Data[0].AvgLatency != nil {
		t.Errorf("cidr 2001:db8::/32: %+v, want B alone, 3 unanswered, no latency", l.Data)
	}
	l, err = c.ListClients(ctx, ListQuery{Interface: "eth1", SortBy: "client_ip", SortOrder: "asc"})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Data) != 2 || l.Data[0].ClientIP != apiclienttest.AddrC || l.Data[1].ClientIP != apiclienttest.AddrD {
		t.Errorf("eth1 by address: %v, want C then D", addrs(l.Data))
	}
	d := l.Data[1]
	if d.Mode6Count != 2 || d.Mode7Count != 1 || d.NTPVersion == nil || *d.NTPVersion != 2 || d.AvgRequestInterval != nil {
		t.Errorf("D: %+v, want 2 mode 6, 1 mode 7, NTPv2, no interval", d)
	}
}

// A row re-encodes to exactly the JSON the API sent, fields this package
// does not know included.
func TestClientRowPassThrough(t *testing.T) {
	_, c := population(t, apiclienttest.Options{})
	l, err := c.ListClients(context.Background(), ListQuery{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(l.Data[0])
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(out, &fields); err != nil {
		t.Fatal(err)
	}
	if len(fields) < 50 || fields["client_ip"] != l.Data[0].ClientIP {
		t.Errorf("re-encoded row has %d fields (%s…), want the API's object", len(fields), out[:min(len(out), 80)])
	}
	in := []byte(`{"id":7,"client_ip":"192.0.2.1","future_field":{"x":1}}`)
	var r ClientRow
	if err := json.Unmarshal(in, &r); err != nil {
		t.Fatal(err)
	}
	if out, _ := json.Marshal(r); string(out) != string(in) {
		t.Errorf("re-encoded %s, want %s", out, in)
	}
	built := ClientRow{ID: 1, ClientIP: "192.0.2.9"}
	out, _ = json.Marshal(built)
	if !strings.Contains(string(out), `"client_ip":"192.0.2.9"`) {
		t.Errorf("a row built in code encodes as %s", out)
	}
}

func TestSearchClients(t *testing.T) {
	_, c := population(t, apiclienttest.Options{})
	yes := true
	tests := []struct {
		name    string
		filters Filters
		want    []string
	}{
		{"unanswered, latest first", Filters{HasUnanswered: &yes}, []string{apiclienttest.AddrC, apiclienttest.AddrB}},
		{"kod", Filters{HasKoD: &yes}, []string{apiclienttest.AddrC}},
		{"eth1", Filters{InterfaceNames: []string{"eth1"}}, []string{apiclienttest.AddrC, apiclienttest.AddrD}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := c.SearchClients(context.Background(), SearchRequest{Filters: &tc.filters,
				Sort: &Sort{By: "last_seen", Order: "desc"}, Pagination: &PageSpec{Page: 1, PageSize: 10}})
			if err != nil {
				t.Fatal(err)
			}
			if got := addrs(l.Data); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStatistics(t *testing.T) {
	_, c := population(t, apiclienttest.Options{})
	ctx := context.Background()
	is, err := c.InterfaceStatistics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !is.GeneratedAt.Equal(now) || len(is.Data) != 2 {
		t.Fatalf("interface statistics %+v, want two interfaces generated at %v", is, now)
	}
	type figures struct{ clients, sessions, unanswered, kod int64 }
	want := map[string]figures{"eth0": {2, 18, 3, 0}, "eth1": {2, 7, 1, 2}}
	for _, s := range is.Data {
		if got := (figures{s.Clients, s.Sessions, s.Unanswered, s.KoD}); got != want[s.InterfaceName] {
			t.Errorf("%s: %+v, want %+v", s.InterfaceName, got, want[s.InterfaceName])
		}
	}
	ss, err := c.ServiceStatistics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// This server runs without ingestion: the API says so with null.
	if ss.Ingestion != nil || ss.Database.Rows != 4 || ss.Database.SizeBytes <= 0 {
		t.Errorf("service statistics %+v, want no ingestion and 4 rows", ss)
	}
}

// The errors say what to do: which collector did not answer, which token
// was missing or refused, what the API objected to.
func TestErrors(t *testing.T) {
	srv, _ := population(t, apiclienttest.Options{Token: "s3cret"})
	ctx := context.Background()
	cleanup := func(c *Client) error {
		var out map[string]any
		return c.post(ctx, "/api/ntp/history/cleanup", map[string]any{"older_than_days": 1, "dry_run": true}, &out)
	}

	none, _ := New(srv.URL, Token{})
	err := cleanup(none)
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "none was given") {
		t.Errorf("no token: %v, want ErrUnauthorized saying none was given", err)
	}
	wrong, _ := New(srv.URL, Token{Value: "nope", Source: "/etc/ntp-monitor/token"})
	err = cleanup(wrong)
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "/etc/ntp-monitor/token") {
		t.Errorf("wrong token: %v, want ErrForbidden naming the token's source", err)
	}
	right, _ := New(srv.URL, Token{Value: "s3cret", Source: "--api-token"})
	if err := cleanup(right); err != nil {
		t.Errorf("right token: %v", err)
	}

	_, err = right.ListClients(ctx, ListQuery{CIDR: "not-a-prefix"})
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "invalid_parameter" || ae.Field != "cidr" {
		t.Errorf("bad cidr: %#v, want a 400 invalid_parameter about cidr", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	gone, _ := New(closed, Token{})
	_, err = gone.ServiceStatistics(ctx)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), closed) || strings.Contains(err.Error(), "\n") {
		t.Errorf("closed port: %v, want ErrUnreachable naming %s on one line", err, closed)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		url, want string
	}{
		{"http://127.0.0.1:8000", ""},
		{"https://collector.example.net/ntp/", ""},
		{"127.0.0.1:8000", "want http://host:port"},
		{"ftp://x", "want http://host:port"},
		{"http://x/?a=1", "query"},
	}
	for _, tc := range tests {
		c, err := New(tc.url, Token{})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("New(%q): %v", tc.url, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("New(%q): %v, want an error saying %q", tc.url, err, tc.want)
		case err == nil && strings.HasSuffix(c.URL(), "/"):
			t.Errorf("New(%q).URL() = %q keeps a trailing slash", tc.url, c.URL())
		}
	}
}

func TestFindStateToken(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	unreadable := filepath.Join(dir, "unreadable")
	good := filepath.Join(dir, "good")
	for _, d := range []string{empty, unreadable, good} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(empty, TokenFileName), []byte("\n"), 0o600)
	// A directory where the file should be cannot be read, as root too.
	os.Mkdir(filepath.Join(unreadable, TokenFileName), 0o700)
	os.WriteFile(filepath.Join(good, TokenFileName), []byte("  tok-123\n"), 0o600)

	tok, bad := FindStateToken(filepath.Join(dir, "missing"), empty, unreadable, good)
	if tok.Value != "tok-123" || tok.Source != filepath.Join(good, TokenFileName) {
		t.Errorf("token %+v, want tok-123 from %s", tok, good)
	}
	if len(bad) != 2 || !errors.Is(bad[0], ErrNoToken) {
		t.Errorf("unreadable %v, want the empty file and the directory, not the missing one", bad)
	}
	if tok, _ := FindStateToken(filepath.Join(dir, "missing")); tok != (Token{}) {
		t.Errorf("nothing to find gave %+v", tok)
	}
}

func TestIsLocal(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"http://127.0.0.1:8000", true},
		{"http://127.1.2.3:8000", true},
		{"http://[::1]:8000", true},
		{"http://localhost:8000", true},
		{"http://LocalHost", true},
		{"http://192.0.2.5:8000", false},
		{"http://collector.example.net", false},
		{"http://localhost.example.net", false},
		{"::", false},
	}
	for _, tc := range tests {
		if got := IsLocal(tc.url); got != tc.want {
			t.Errorf("IsLocal(%q) = %v, want %v", tc.url, got, tc.want)
		}
	}
}

func addrs(rows []ClientRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.ClientIP
	}
	return out
}
