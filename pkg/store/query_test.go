package store

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

func TestPrefixRange(t *testing.T) {
	tests := []struct {
		prefix string
		lo, hi string // as addresses; IPv4 stands for its ::ffff: form
	}{
		{"10.0.0.0/8", "10.0.0.0", "10.255.255.255"},
		{"10.1.2.3/16", "10.1.0.0", "10.1.255.255"}, // host bits are masked
		{"192.0.2.7/32", "192.0.2.7", "192.0.2.7"},
		{"0.0.0.0/0", "0.0.0.0", "255.255.255.255"},
		{"2001:db8::/32", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"2001:db8::1/128", "2001:db8::1", "2001:db8::1"},
		{"::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"::ffff:10.0.0.0/104", "10.0.0.0", "10.255.255.255"},
	}
	for _, tt := range tests {
		lo, hi := prefixRange(netip.MustParsePrefix(tt.prefix))
		if want := ipBytes(netip.MustParseAddr(tt.lo)); !bytes.Equal(lo, want) {
			t.Errorf("%s: lo %x, want %x", tt.prefix, lo, want)
		}
		if want := ipBytes(netip.MustParseAddr(tt.hi)); !bytes.Equal(hi, want) {
			t.Errorf("%s: hi %x, want %x", tt.prefix, hi, want)
		}
	}
}

func TestNearestRank(t *testing.T) {
	tests := []struct {
		v        []float64
		p50, p95 float64
	}{
		{[]float64{7}, 7, 7},
		{[]float64{1, 2}, 1, 2},
		{[]float64{1, 2, 3, 4}, 2, 4},
		{func() []float64 {
			v := make([]float64, 100)
			for i := range v {
				v[i] = float64(i + 1)
			}
			return v
		}(), 50, 95},
	}
	for _, tt := range tests {
		if got := nearestRank(tt.v, 0.5); got != tt.p50 {
			t.Errorf("p50 of %v = %v, want %v", tt.v, got, tt.p50)
		}
		if got := nearestRank(tt.v, 0.95); got != tt.p95 {
			t.Errorf("p95 of %v = %v, want %v", tt.v, got, tt.p95)
		}
	}
}

func TestSortWhitelist(t *testing.T) {
	for _, f := range SortFields() {
		if _, err := (Sort{Field: SortField(f), Desc: true}).orderBy(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := (Sort{Field: "id; DROP TABLE ntp_clients"}).orderBy(); err == nil {
		t.Error("a sort field outside the whitelist reached SQL")
	}
	// Filter values never reach the SQL text.
	f := ClientFilter{IPContains: "10%' OR 1=1 --", Interfaces: []string{"eth0' --"}}
	where, args := f.where()
	text := strings.ReplaceAll(where, `ESCAPE '\'`, "")
	if strings.ContainsAny(text, "'%") || strings.Contains(text, "--") || strings.Contains(text, "eth0") {
		t.Errorf("values in the SQL text: %s", where)
	}
	if len(args) != 2 || args[0] != `%10\%' OR 1=1 --%` {
		t.Errorf("args %q", args)
	}
}
