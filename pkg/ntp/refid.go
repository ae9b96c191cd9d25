package ntp

import (
	"encoding/binary"
	"strconv"
)

// RefID returns the reference ID as text: for stratum 0 (a kiss code) and
// stratum 1 (a reference clock) the ASCII code with trailing NULs removed,
// for stratum 2 and above the dotted quad (an IPv4 upstream, or the hash of
// an IPv6 one). Control packets have no reference ID and give "".
//
// ASCII codes are printed as they are when every byte before the trailing
// NULs is printable ASCII; any other byte would make the text unsafe to log
// or store, so such an ID is given whole as 0x-prefixed hex instead (lossless
// and unmistakable). An all-zero ID is "".
//
// The kiss codes of RFC 5905 and RFC 8915 and the common reference clock
// names come from a fixed table and do not allocate; other ASCII codes and
// dotted quads allocate one short string. A capture loop that wants no
// allocation per packet uses a RefIDCache (or AppendRefID).
func (p *Packet) RefID() string {
	if p.Mode == ModeControl || p.Mode == ModePrivate {
		return ""
	}
	v := binary.BigEndian.Uint32(p.ReferenceID[:])
	if p.Stratum > 1 {
		return string(appendQuad(make([]byte, 0, 15), v))
	}
	if s, ok := knownCode(v); ok {
		return s
	}
	if v == 0 {
		return ""
	}
	return string(appendASCII(make([]byte, 0, 10), p.ReferenceID))
}

// AppendRefID appends the text of RefID to b; it never allocates when b has
// room for 15 bytes.
func (p *Packet) AppendRefID(b []byte) []byte {
	if p.Mode == ModeControl || p.Mode == ModePrivate {
		return b
	}
	if p.Stratum > 1 {
		return appendQuad(b, binary.BigEndian.Uint32(p.ReferenceID[:]))
	}
	return appendASCII(b, p.ReferenceID)
}

func appendQuad(b []byte, v uint32) []byte {
	b = strconv.AppendUint(b, uint64(v>>24), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(v>>16&0xff), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(v>>8&0xff), 10)
	b = append(b, '.')
	return strconv.AppendUint(b, uint64(v&0xff), 10)
}

func appendASCII(b []byte, id [4]byte) []byte {
	n := 4
	for n > 0 && id[n-1] == 0 {
		n--
	}
	for _, c := range id[:n] {
		if c < 0x20 || c > 0x7e {
			const hex = "0123456789abcdef"
			b = append(b, '0', 'x')
			for _, c := range id {
				b = append(b, hex[c>>4], hex[c&0xf])
			}
			return b
		}
	}
	return append(b, id[:n]...)
}

// knownCode maps the ASCII reference IDs seen in practice (RFC 5905 kiss
// codes and reference clock names, NTS's NTSN, chrony's and ntpd's refclock
// names) to constant strings.
func knownCode(v uint32) (string, bool) {
	switch v {
	case 0x41435354:
		return "ACST", true
	case 0x41555448:
		return "AUTH", true
	case 0x4155544f:
		return "AUTO", true
	case 0x42435354:
		return "BCST", true
	case 0x43525950:
		return "CRYP", true
	case 0x44454e59:
		return "DENY", true
	case 0x44524f50:
		return "DROP", true
	case 0x52535452:
		return "RSTR", true
	case 0x494e4954:
		return "INIT", true
	case 0x4d435354:
		return "MCST", true
	case 0x4e4b4559:
		return "NKEY", true
	case 0x4e54534e:
		return "NTSN", true
	case 0x52415445:
		return "RATE", true
	case 0x524d4f54:
		return "RMOT", true
	case 0x53544550:
		return "STEP", true
	case 0x474f4553:
		return "GOES", true
	case 0x47505300:
		return "GPS", true
	case 0x47414c00:
		return "GAL", true
	case 0x50505300:
		return "PPS", true
	case 0x49524947:
		return "IRIG", true
	case 0x57575642:
		return "WWVB", true
	case 0x44434600:
		return "DCF", true
	case 0x48424700:
		return "HBG", true
	case 0x4d534600:
		return "MSF", true
	case 0x4a4a5900:
		return "JJY", true
	case 0x4c4f5243:
		return "LORC", true
	case 0x54444600:
		return "TDF", true
	case 0x43485500:
		return "CHU", true
	case 0x57575600:
		return "WWV", true
	case 0x57575648:
		return "WWVH", true
	case 0x4e495354:
		return "NIST", true
	case 0x41435453:
		return "ACTS", true
	case 0x55534e4f:
		return "USNO", true
	case 0x50544200:
		return "PTB", true
	case 0x4c4f434c:
		return "LOCL", true
	case 0x474e5353:
		return "GNSS", true
	case 0x474c4e00:
		return "GLN", true
	case 0x474c4f00:
		return "GLO", true
	case 0x42445300:
		return "BDS", true
	case 0x4e4d4541:
		return "NMEA", true
	case 0x53484d00:
		return "SHM", true
	case 0x50484300:
		return "PHC", true
	case 0x50484330:
		return "PHC0", true
	case 0x50484331:
		return "PHC1", true
	case 0x534f434b:
		return "SOCK", true
	case 0x41544f4d:
		return "ATOM", true
	case 0x46524545:
		return "FREE", true
	case 0x58464143:
		return "XFAC", true
	case 0x474f4f47:
		return "GOOG", true
	case 0x46420000:
		return "FB", true
	case 0x4e545300:
		return "NTS", true
	case 0x4c46554e:
		return "LFUN", true
	case 0x44464d00:
		return "DFM", true
	}
	return "", false
}

// RefIDCache renders reference IDs without allocating for IDs it has seen
// before: a direct-mapped cache of recent IDs, so the handful of upstreams
// and kiss codes a server uses cost one allocation each, ever. Its zero value
// is ready to use; it is not safe for concurrent use (one per capture loop).
type RefIDCache struct {
	slots [refIDSlots]refIDSlot
}

const refIDSlots = 256

type refIDSlot struct {
	key uint64 // ID | kind<<32; 0 = empty
	s   string
}

// RefID returns p.RefID(), from the cache when it can.
func (c *RefIDCache) RefID(p *Packet) string {
	if p.Mode == ModeControl || p.Mode == ModePrivate {
		return ""
	}
	v := binary.BigEndian.Uint32(p.ReferenceID[:])
	kind := uint64(1) // ASCII
	if p.Stratum > 1 {
		kind = 2 // dotted quad
	} else if s, ok := knownCode(v); ok {
		return s
	}
	key := uint64(v) | kind<<32
	// Fibonacci hashing spreads neighbouring addresses over the slots.
	slot := &c.slots[(key*0x9e3779b97f4a7c15)>>56]
	if slot.key == key {
		return slot.s
	}
	s := p.RefID()
	slot.key, slot.s = key, s
	return s
}
