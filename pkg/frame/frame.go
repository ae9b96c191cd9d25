package frame

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
)

// LinkType is a capture's link-layer header type; the values are libpcap's
// DLT_/LINKTYPE_ numbers, as found in a pcap file header or returned by
// pcap_datalink.
type LinkType int

// Supported link types.
const (
	LinkNull       LinkType = 0   // BSD loopback: 4-byte address family in host order
	LinkEthernet   LinkType = 1   // Ethernet II, with 802.1Q/802.1ad tags
	LinkRawDLT     LinkType = 12  // DLT_RAW on most platforms: bare IPv4/IPv6
	LinkRawOpenBSD LinkType = 14  // DLT_RAW on OpenBSD
	LinkRaw        LinkType = 101 // LINKTYPE_RAW
	LinkLoop       LinkType = 108 // OpenBSD loopback: like Null, network order
	LinkLinuxSLL   LinkType = 113 // Linux cooked capture v1 (tcpdump -i any, old)
	LinkIPv4       LinkType = 228 // bare IPv4
	LinkIPv6       LinkType = 229 // bare IPv6
	LinkLinuxSLL2  LinkType = 276 // Linux cooked capture v2 (tcpdump -i any)

	// LinkLinuxSLL2Uint8 is LinkLinuxSLL2 cut to 8 bits, which is what
	// gopacket's layers.LinkType (a uint8) makes of 276 in pcap.Handle's
	// LinkType. No DLT uses 20, so Decode takes it as SLL2.
	LinkLinuxSLL2Uint8 LinkType = LinkLinuxSLL2 & 0xff
)

// Supported reports whether Decode understands link type l.
func (l LinkType) Supported() bool {
	switch l {
	case LinkNull, LinkEthernet, LinkRawDLT, LinkRawOpenBSD, LinkRaw, LinkLoop,
		LinkLinuxSLL, LinkIPv4, LinkIPv6, LinkLinuxSLL2, LinkLinuxSLL2Uint8:
		return true
	}
	return false
}

func (l LinkType) String() string {
	switch l {
	case LinkNull:
		return "NULL"
	case LinkEthernet:
		return "EN10MB"
	case LinkRawDLT, LinkRawOpenBSD, LinkRaw:
		return "RAW"
	case LinkLoop:
		return "LOOP"
	case LinkLinuxSLL:
		return "LINUX_SLL"
	case LinkIPv4:
		return "IPV4"
	case LinkIPv6:
		return "IPV6"
	case LinkLinuxSLL2, LinkLinuxSLL2Uint8:
		return "LINUX_SLL2"
	}
	return "DLT " + strconv.Itoa(int(l))
}

// Errors returned by Decode, wrapped with the layer that failed; test with
// errors.Is.
var (
	// ErrTruncated means a header or the UDP datagram runs past the end of
	// the captured data (a short snaplen, or a damaged frame).
	ErrTruncated = errors.New("frame: truncated")
	// ErrCut is the ErrTruncated (errors.Is holds) of a datagram whose
	// headers are whole and whose UDP payload the capture cut short: Frame
	// is filled, Payload holds the captured part and Length the whole.
	// The NTP header in that part can still be read.
	ErrCut = wrap("UDP payload cut by the capture", ErrTruncated)
	// ErrUnsupported means a link type or EtherType this package does not
	// decode (ARP, MPLS, …).
	ErrUnsupported = errors.New("frame: unsupported")
	// ErrFragment means an IP fragment that does not hold the whole UDP
	// datagram: a non-first fragment, or a first fragment whose UDP payload
	// continues in the next one.
	ErrFragment = errors.New("frame: IP fragment")
	// ErrNotUDP means an IP packet carrying another protocol.
	ErrNotUDP = errors.New("frame: not UDP")
	// ErrMalformed means a header whose fields contradict each other
	// (an IPv4 header length under 20, a UDP length under 8, …).
	ErrMalformed = errors.New("frame: malformed header")
)

// Built once so that a flood of odd packets costs no allocation.
var (
	errLinkType    = wrap("link type", ErrUnsupported)
	errEtherType   = wrap("EtherType", ErrUnsupported)
	errEthShort    = wrap("Ethernet header", ErrTruncated)
	errVLANShort   = wrap("802.1Q tag", ErrTruncated)
	errVLANDepth   = wrap("more than two VLAN tags", ErrUnsupported)
	errSLLShort    = wrap("Linux cooked header", ErrTruncated)
	errNullShort   = wrap("loopback header", ErrTruncated)
	errNullFamily  = wrap("loopback address family", ErrUnsupported)
	errIPVersion   = wrap("IP version", ErrUnsupported)
	errIPv4Short   = wrap("IPv4 header", ErrTruncated)
	errIPv4IHL     = wrap("IPv4 header length", ErrMalformed)
	errIPv4Len     = wrap("IPv4 total length", ErrMalformed)
	errIPv4Trunc   = wrap("IPv4 packet", ErrTruncated)
	errIPv4Frag    = wrap("IPv4 non-first fragment", ErrFragment)
	errIPv6Short   = wrap("IPv6 header", ErrTruncated)
	errIPv6Jumbo   = wrap("IPv6 jumbogram", ErrUnsupported)
	errIPv6ExtHdr  = wrap("IPv6 extension header", ErrTruncated)
	errIPv6Frag    = wrap("IPv6 non-first fragment", ErrFragment)
	errIPv6Chain   = wrap("IPv6 extension header chain too long", ErrMalformed)
	errProto       = wrap("IP protocol", ErrNotUDP)
	errUDPShort    = wrap("UDP header", ErrTruncated)
	errUDPLen      = wrap("UDP length", ErrMalformed)
	errUDPFragment = wrap("UDP payload continues in the next fragment", ErrFragment)
)

type wrapped struct {
	msg string
	err error
}

func wrap(msg string, err error) error { return &wrapped{msg: msg, err: err} }
func (w *wrapped) Error() string       { return w.err.Error() + ": " + w.msg }
func (w *wrapped) Unwrap() error       { return w.err }

// Frame is a decoded UDP datagram with the addressing that matters to the
// monitor.
type Frame struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	// VLAN is the ID of the outer 802.1Q/802.1ad tag and InnerVLAN that of
	// the inner tag of a QinQ frame; 0 when untagged (or priority-tagged).
	VLAN, InnerVLAN uint16
	// Payload is the UDP payload, trimmed to the UDP length (so Ethernet
	// padding is not part of it). It aliases the data given to Decode.
	//
	// When the capture cut the datagram short (a snaplen below the packet
	// size), Decode returns ErrCut and Payload holds the part that was
	// captured, so that the headers in it can still be read.
	Payload []byte
	// Length is the payload length the UDP header announces; it is larger
	// than len(Payload) only when the capture was cut.
	Length int
}

// EtherTypes and IP protocol numbers used below.
const (
	etherIPv4  = 0x0800
	etherIPv6  = 0x86dd
	etherVLAN  = 0x8100 // 802.1Q
	etherQinQ  = 0x88a8 // 802.1ad service tag
	etherQinQ1 = 0x9100 // pre-standard QinQ

	protoHopByHop = 0
	protoUDP      = 17
	protoRouting  = 43
	protoFragment = 44
	protoAH       = 51
	protoNoNext   = 59
	protoDestOpts = 60

	// maxExtHeaders bounds the IPv6 extension header walk; real packets
	// carry one or two.
	maxExtHeaders = 8
)

// Decode decodes one captured frame of link type link into f, overwriting
// every field. On error f holds what was decoded before the failing layer
// (for example the addresses of a non-UDP packet).
func Decode(link LinkType, data []byte, f *Frame) error {
	*f = Frame{}
	switch link {
	case LinkEthernet:
		if len(data) < 14 {
			return errEthShort
		}
		return decodeEther(binary.BigEndian.Uint16(data[12:14]), data[14:], f)
	case LinkLinuxSLL:
		// Packet type, ARPHRD type, address length, 8 address bytes, protocol.
		if len(data) < 16 {
			return errSLLShort
		}
		return decodeEther(binary.BigEndian.Uint16(data[14:16]), data[16:], f)
	case LinkLinuxSLL2, LinkLinuxSLL2Uint8:
		// Protocol, reserved, interface index, ARPHRD type, packet type,
		// address length, 8 address bytes.
		if len(data) < 20 {
			return errSLLShort
		}
		return decodeEther(binary.BigEndian.Uint16(data[0:2]), data[20:], f)
	case LinkRawDLT, LinkRawOpenBSD, LinkRaw:
		if len(data) == 0 {
			return errIPv4Short
		}
		switch data[0] >> 4 {
		case 4:
			return decodeIPv4(data, f)
		case 6:
			return decodeIPv6(data, f)
		}
		return errIPVersion
	case LinkIPv4:
		return decodeIPv4(data, f)
	case LinkIPv6:
		return decodeIPv6(data, f)
	case LinkNull, LinkLoop:
		if len(data) < 4 {
			return errNullShort
		}
		var family uint32
		if link == LinkLoop {
			family = binary.BigEndian.Uint32(data)
		} else {
			// Host byte order of the machine that captured: the family is
			// small, so whichever order gives a small number is right.
			family = binary.LittleEndian.Uint32(data)
			if family > 0xffff {
				family = binary.BigEndian.Uint32(data)
			}
		}
		switch family {
		case 2: // AF_INET everywhere
			return decodeIPv4(data[4:], f)
		case 10, 24, 28, 30: // AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, macOS
			return decodeIPv6(data[4:], f)
		}
		return errNullFamily
	}
	return errLinkType
}

// decodeEther continues after an EtherType, taking up to two VLAN tags.
func decodeEther(etherType uint16, b []byte, f *Frame) error {
	for tags := 0; ; tags++ {
		switch etherType {
		case etherIPv4:
			return decodeIPv4(b, f)
		case etherIPv6:
			return decodeIPv6(b, f)
		case etherVLAN, etherQinQ, etherQinQ1:
			if tags == 2 {
				return errVLANDepth
			}
			if len(b) < 4 {
				return errVLANShort
			}
			id := binary.BigEndian.Uint16(b[0:2]) & 0x0fff
			if tags == 0 {
				f.VLAN = id
			} else {
				f.InnerVLAN = id
			}
			etherType = binary.BigEndian.Uint16(b[2:4])
			b = b[4:]
		default:
			return errEtherType
		}
	}
}

func decodeIPv4(b []byte, f *Frame) error {
	if len(b) < 20 {
		return errIPv4Short
	}
	if b[0]>>4 != 4 {
		return errIPVersion
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return errIPv4IHL
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if total < ihl {
		return errIPv4Len
	}
	f.Src = netip.AddrFrom4([4]byte(b[12:16]))
	f.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	flagsOffset := binary.BigEndian.Uint16(b[6:8])
	if flagsOffset&0x1fff != 0 {
		return errIPv4Frag
	}
	if b[9] != protoUDP {
		return errProto
	}
	if total > len(b) {
		// Cut by the capture: decode what is there, report the cut.
		if len(b) < ihl {
			return errIPv4Trunc
		}
		return decodeUDP(b[ihl:], flagsOffset&0x2000 != 0, f)
	}
	// Trimming to the total length drops Ethernet padding.
	return decodeUDP(b[ihl:total], flagsOffset&0x2000 != 0, f)
}

func decodeIPv6(b []byte, f *Frame) error {
	if len(b) < 40 {
		return errIPv6Short
	}
	if b[0]>>4 != 6 {
		return errIPVersion
	}
	payload := int(binary.BigEndian.Uint16(b[4:6]))
	next := b[6]
	f.Src = netip.AddrFrom16([16]byte(b[8:24]))
	f.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	if payload == 0 && next == protoHopByHop {
		return errIPv6Jumbo
	}
	// A packet cut by the capture is decoded as far as it goes; the UDP
	// length then reports the cut.
	b = b[40:min(40+payload, len(b))]
	fragmented := false
	for range maxExtHeaders {
		switch next {
		case protoUDP:
			return decodeUDP(b, fragmented, f)
		case protoHopByHop, protoRouting, protoDestOpts:
			if len(b) < 8 {
				return errIPv6ExtHdr
			}
			n := (int(b[1]) + 1) * 8
			if n > len(b) {
				return errIPv6ExtHdr
			}
			next, b = b[0], b[n:]
		case protoAH:
			if len(b) < 8 {
				return errIPv6ExtHdr
			}
			n := (int(b[1]) + 2) * 4
			if n > len(b) {
				return errIPv6ExtHdr
			}
			next, b = b[0], b[n:]
		case protoFragment:
			if len(b) < 8 {
				return errIPv6ExtHdr
			}
			if binary.BigEndian.Uint16(b[2:4])&0xfff8 != 0 {
				return errIPv6Frag
			}
			fragmented = b[3]&1 != 0
			next, b = b[0], b[8:]
		default: // including protoNoNext and upper layers other than UDP
			return errProto
		}
	}
	return errIPv6Chain
}

// decodeUDP decodes a UDP header and payload. fragmented says the IP packet
// is a first fragment with more to come: then a payload that does not fit is
// in the next fragment, not cut by the capture.
func decodeUDP(b []byte, fragmented bool, f *Frame) error {
	if len(b) < 8 {
		if fragmented {
			return errUDPFragment
		}
		return errUDPShort
	}
	f.SrcPort = binary.BigEndian.Uint16(b[0:2])
	f.DstPort = binary.BigEndian.Uint16(b[2:4])
	n := int(binary.BigEndian.Uint16(b[4:6]))
	if n < 8 {
		return errUDPLen
	}
	f.Length = n - 8
	if n > len(b) {
		if fragmented {
			return errUDPFragment
		}
		f.Payload = b[8:len(b):len(b)]
		return ErrCut
	}
	f.Payload = b[8:n:n]
	return nil
}
