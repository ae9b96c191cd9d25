package store

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
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

// listLimit is the most values the API takes in one list filter.
const listLimit = 1000

// TestListFiltersAtTheLimit selects by 1,000 prefixes, 1,000 addresses and
// 1,000 interfaces — the API's documented maximum, at which an OR of
// BETWEENs broke SQLite's expression depth limit — and checks count, list
// and export against what the rows are known to hold, alone and combined
// with a condition that changes as sessions arrive.
func TestListFiltersAtTheLimit(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	// 3,000 clients: 10.0.<k>.1 and 10.0.<k>.2 for k < 1,000 over 8
	// interfaces, and 2001:db8::<k>; every third one with two sessions.
	b := NewBatch()
	var seq uint64
	add := func(a netip.Addr, iface string, n int) {
		for j := range n {
			ss := sess(a.String(), float64(j), func(s *session.Session) { s.Interface = iface })
			seq++
			b.Add("w", iface, seq, &ss)
		}
	}
	for k := range listLimit {
		add(netip.AddrFrom4([4]byte{10, byte(k >> 8), byte(k), 1}), fmt.Sprintf("if%d", k%8), 1+k%3/2)
		add(netip.AddrFrom4([4]byte{10, byte(k >> 8), byte(k), 2}), fmt.Sprintf("if%d", k%8), 1)
		add(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(k >> 8), 15: byte(k)}), "if0", 1)
	}
	if _, err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}

	var per24, none []netip.Prefix // 1,000 /24s holding two clients each; 1,000 holding none
	var v6 []netip.Addr            // the 1,000 IPv6 clients
	var ifaces []string            // if0 … if999: eight exist
	for k := range listLimit {
		per24 = append(per24, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(k >> 8), byte(k), 0}), 24))
		none = append(none, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, byte(k >> 8), byte(k)}), 32))
		v6 = append(v6, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(k >> 8), 15: byte(k)}))
		ifaces = append(ifaces, fmt.Sprintf("if%d", k))
	}
	two := int64(2)
	tests := []struct {
		name string
		f    ClientFilter
		want int64
	}{
		{"1,000 prefixes", ClientFilter{Prefixes: per24}, 2000},
		{"1,000 prefixes, none matching", ClientFilter{Prefixes: none}, 0},
		{"1,000 overlapping prefixes", ClientFilter{Prefixes: append(per24[:999:999], netip.MustParsePrefix("10.0.0.0/8"))}, 2000},
		{"1,000 addresses", ClientFilter{IPs: v6}, 1000},
		{"1,000 interfaces", ClientFilter{Interfaces: ifaces}, 3000},
		{"1,000 prefixes and a minimum of sessions", ClientFilter{Prefixes: per24, MinSessions: two}, 333},
		{"prefixes and interfaces", ClientFilter{Prefixes: per24, Interfaces: ifaces[:2]}, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := s.CountClients(ctx, tt.f)
			if err != nil || n != tt.want {
				t.Fatalf("CountClients = %d, %v; want %d", n, err, tt.want)
			}
			rows, _, err := s.ListClients(ctx, tt.f, Sort{Field: SortClientIP}, Page{Number: 1, Size: 1000})
			if err != nil || int64(len(rows)) != min(tt.want, 1000) {
				t.Fatalf("ListClients: %d rows, %v", len(rows), err)
			}
			var ids []int64
			render := func(b []byte, c *Client) []byte { ids = append(ids, c.ID); return b }
			got, err := s.ExportRendered(ctx, tt.f, 0, 1, render, func(ExportChunk) error { return nil })
			if err != nil || got != tt.want || int64(len(ids)) != tt.want {
				t.Fatalf("ExportRendered = %d rows (%d rendered), %v; want %d", got, len(ids), err, tt.want)
			}
			if !slices.IsSorted(ids) {
				t.Error("export not in id order")
			}
		})
	}
	got, err := s.ExportRendered(ctx, ClientFilter{Prefixes: per24}, 10, 2, func(b []byte, _ *Client) []byte { return b }, func(ExportChunk) error { return nil })
	if err != nil || got != 10 {
		t.Errorf("export of 1,000 prefixes with limit 10 = %d, %v", got, err)
	}
}

// TestPrefixesMerged: overlapping and nested prefixes are sent as merged
// ranges, in order.
func TestPrefixesMerged(t *testing.T) {
	got := rangesJSON([]netip.Prefix{
		netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("10.2.3.4/32"),
	})
	want := `[["00000000000000000000ffff0a000000","00000000000000000000ffff0affffff"],` +
		`["20010db8000000000000000000000000","20010db8ffffffffffffffffffffffff"]]`
	if got != want {
		t.Errorf("rangesJSON =\n%s\nwant\n%s", got, want)
	}
}

// TestUnansweredAfter selects by the latest unanswered request, not by the
// latest packet: .2 polls on answered after its last unanswered request,
// .4 was never unanswered, and the count agrees with the list.
func TestUnansweredAfter(t *testing.T) {
	s := openTest(t, Options{})
	commitAll(t, s, "w", 1,
		sess("192.0.2.1", 100), sess("192.0.2.1", 10),
		sess("192.0.2.2", 50), sess("192.0.2.2", 200, answered(0.01, 0.001, 0.001)),
		sess("192.0.2.3", 60), sess("192.0.2.3", 60.5),
		sess("192.0.2.4", 300, answered(0.01, 0.001, 0.001)))
	tests := []struct {
		after float64
		want  string
	}{
		{0, "192.0.2.1 192.0.2.2 192.0.2.3"},
		{50, "192.0.2.1 192.0.2.2 192.0.2.3"},
		{50.5, "192.0.2.1 192.0.2.3"},
		{60.5, "192.0.2.1 192.0.2.3"},
		{60.6, "192.0.2.1"},
		{100.000000001, ""},
	}
	for _, tc := range tests {
		f := ClientFilter{UnansweredAfter: t0.Add(time.Duration(tc.after * float64(time.Second)))}
		var got []string
		for _, c := range allClients(t, s, f, Sort{Field: SortClientIP}) {
			got = append(got, c.ClientIP)
			if !c.LastUnansweredTimestamp.Valid {
				t.Errorf("after %v: %s selected with a NULL last_unanswered_timestamp", tc.after, c.ClientIP)
			}
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("after %v: %q, want %q", tc.after, strings.Join(got, " "), tc.want)
		}
		n, err := s.CountClients(context.Background(), f)
		if err != nil || n != int64(len(got)) {
			t.Errorf("after %v: count %d, %v; the list has %d", tc.after, n, err, len(got))
		}
	}
}
