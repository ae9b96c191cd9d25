package store

import (
	"bytes"
	"net/netip"
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
