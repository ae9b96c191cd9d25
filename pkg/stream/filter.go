package stream

import (
	"net/netip"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// A Filter selects the sessions a subscriber receives. The zero Filter
// selects every session; each set field narrows it, and a session must
// match all of them.
type Filter struct {
	// Interface, when not empty, is the one interface_name wanted.
	Interface string
	// Prefix, when valid, must contain the client address.
	Prefix netip.Prefix
	// ClientIP, when valid, is the one client address wanted.
	ClientIP netip.Addr
	// Answered, when set, selects answered (true) or unanswered (false)
	// sessions.
	Answered *bool
	// KoD, when set, selects sessions answered with a Kiss-o'-Death
	// (true) or not (false).
	KoD *bool
	// Modes, when not zero, is a set of NTP modes: bit m selects mode m
	// (0–7), so 1<<6|1<<7 selects the mode 6 and 7 control queries.
	Modes uint8
}

// Match reports whether s is selected. IPv4-mapped IPv6 addresses match
// their IPv4 form either way round.
func (f *Filter) Match(s *session.Session) bool {
	if f.Interface != "" && s.Interface != f.Interface {
		return false
	}
	if f.Modes != 0 && (s.Mode > 7 || f.Modes&(1<<s.Mode) == 0) {
		return false
	}
	if f.Answered != nil && s.Answered != *f.Answered {
		return false
	}
	if f.KoD != nil && (s.KoD != "") != *f.KoD {
		return false
	}
	if f.ClientIP.IsValid() || f.Prefix.IsValid() {
		ip := s.ClientIP.Unmap()
		if f.ClientIP.IsValid() && ip != f.ClientIP.Unmap() {
			return false
		}
		if f.Prefix.IsValid() && !prefixContains(f.Prefix, ip) {
			return false
		}
	}
	return true
}

// filterKey is a Filter as a comparable value: two filters with equal keys
// select the same sessions, so their subscribers share one check.
type filterKey struct {
	iface    string
	prefix   netip.Prefix
	client   netip.Addr
	answered int8 // 0: either; 1: true; -1: false
	kod      int8
	modes    uint8
}

func (f *Filter) key() filterKey {
	k := filterKey{iface: f.Interface, client: f.ClientIP.Unmap(), answered: tri(f.Answered), kod: tri(f.KoD), modes: f.Modes}
	if f.Prefix.IsValid() {
		k.prefix = f.Prefix.Masked()
	}
	return k
}

func tri(b *bool) int8 {
	switch {
	case b == nil:
		return 0
	case *b:
		return 1
	}
	return -1
}

// prefixContains is Prefix.Contains for an unmapped address, with an
// IPv4-mapped prefix (::ffff:192.0.2.0/120) read as its IPv4 form.
func prefixContains(p netip.Prefix, ip netip.Addr) bool {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Contains(ip)
}
