package wire

import "net/netip"

// The caches intern what repeats in every line of a connection (interface
// names, reference IDs, client addresses) so that decoding a steady stream
// allocates nothing. What a peer sends decides what they hold, so both are
// bounded: in entries, and in the bytes of the text they keep, which is what
// a hostile peer would inflate (65,536 strings of 64 KiB each would be 4 GiB
// per connection). When a bound would be passed the cache is emptied rather
// than grown: a stream of ever-new values costs allocations, never memory.
const (
	// maxCache bounds the entries of each cache.
	maxCache = 1 << 16
	// maxCacheBytes bounds the text each cache keeps, per connection.
	maxCacheBytes = 1 << 20
	// maxCachedLen is the longest value cached. Every value that repeats is
	// far shorter (an interface name is at most 64 bytes, a reference ID 15,
	// an address 45); a longer one is decoded into a string of its own.
	maxCachedLen = 256
)

// strCache interns strings, up to maxCache of them and maxCacheBytes of text.
type strCache struct {
	m     map[string]string
	bytes int
}

// str returns b as a string, the same string for the same bytes.
func (d *Decoder) str(b []byte) string {
	c := &d.strs
	if s, ok := c.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(b) > maxCachedLen {
		return s
	}
	if len(c.m) >= maxCache || c.bytes+len(s) > maxCacheBytes {
		clear(c.m)
		c.bytes = 0
	}
	c.m[s] = s
	c.bytes += len(s)
	return s
}

// addrCache interns parsed addresses by their text, bounded as strCache.
type addrCache struct {
	m     map[string]netip.Addr
	bytes int
}

// addr parses b as an IP address, each address once. An address with a zone
// (fe80::1%eth0) is parsed but never cached: the zone is any text at all.
func (d *Decoder) addr(b []byte) (netip.Addr, bool) {
	c := &d.addrs
	if a, ok := c.m[string(b)]; ok {
		return a, true
	}
	a, err := netip.ParseAddr(string(b))
	if err != nil {
		return netip.Addr{}, false
	}
	if a.Zone() != "" || len(b) > maxCachedLen {
		return a, true
	}
	if len(c.m) >= maxCache || c.bytes+len(b) > maxCacheBytes {
		clear(c.m)
		c.bytes = 0
	}
	c.m[string(b)] = a
	c.bytes += len(b)
	return a, true
}
