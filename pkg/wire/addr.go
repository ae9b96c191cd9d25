package wire

import "net/netip"

// appendIP appends a's text form, exactly as netip.Addr.AppendTo writes it
// (RFC 5952: lower-case hex, no leading zeros, the first longest run of two
// or more zero groups as "::").
//
// netip's IPv6 formatter reads the address one group per method call and
// scans for the zero run once per group; a session line has two addresses,
// and with half the clients on IPv6 that was a tenth of the line's cost.
// IPv4, IPv4-mapped IPv6 and zoned addresses are rare enough, or fast
// enough already, to be left to netip.
func appendIP(b []byte, a netip.Addr) []byte {
	if !a.Is6() || a.Is4In6() || a.Zone() != "" {
		return a.AppendTo(b)
	}
	raw := a.As16()
	var g [8]uint16
	for i := range g {
		g[i] = uint16(raw[2*i])<<8 | uint16(raw[2*i+1])
	}
	// The first longest run of at least two zero groups.
	bestAt, bestLen := 8, 1
	for i := 0; i < 8; {
		if g[i] != 0 {
			i++
			continue
		}
		j := i + 1
		for j < 8 && g[j] == 0 {
			j++
		}
		if j-i > bestLen {
			bestAt, bestLen = i, j-i
		}
		i = j
	}
	var buf [39]byte // "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
	n := 0
	for i := 0; i < 8; i++ {
		if i == bestAt {
			buf[n], buf[n+1] = ':', ':'
			n += 2
			i += bestLen - 1
			continue
		}
		if i > 0 && i != bestAt+bestLen {
			buf[n] = ':'
			n++
		}
		v := g[i]
		switch {
		case v >= 0x1000:
			buf[n] = hexDigits[v>>12]
			n++
			fallthrough
		case v >= 0x100:
			buf[n] = hexDigits[v>>8&0xf]
			n++
			fallthrough
		case v >= 0x10:
			buf[n] = hexDigits[v>>4&0xf]
			n++
		}
		buf[n] = hexDigits[v&0xf]
		n++
	}
	return append(b, buf[:n]...)
}
