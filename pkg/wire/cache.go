package wire

import "net/netip"

// maxCache bounds each cache; when full it is emptied rather than grown, so a
// stream of ever-new addresses costs allocations, never unbounded memory.
const maxCache = 1 << 16

// str returns b as a string, the same string for the same bytes: interface
// names and reference IDs repeat in every session.
func (d *Decoder) str(b []byte) string {
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	if len(d.strs) >= maxCache {
		clear(d.strs)
	}
	s := string(b)
	d.strs[s] = s
	return s
}

// addr parses b as an IP address, each address once.
func (d *Decoder) addr(b []byte) (netip.Addr, bool) {
	if a, ok := d.addrs[string(b)]; ok {
		return a, true
	}
	a, err := netip.ParseAddr(string(b))
	if err != nil {
		return netip.Addr{}, false
	}
	if len(d.addrs) >= maxCache {
		clear(d.addrs)
	}
	d.addrs[string(b)] = a
	return a, true
}
