package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

// Builders for hand-made frames. Each returns a fresh slice.

var (
	v4a = netip.MustParseAddr("192.0.2.2")
	v4b = netip.MustParseAddr("192.0.2.1")
	v6a = netip.MustParseAddr("2001:db8::a:2")
	v6b = netip.MustParseAddr("2001:db8::a:1")
	ntp = append([]byte{0x23}, make([]byte, 47)...)
)

func udp(payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(b[0:2], 40000)
	binary.BigEndian.PutUint16(b[2:4], 123)
	binary.BigEndian.PutUint16(b[4:6], uint16(8+len(payload)))
	return append(b, payload...)
}

// ipv4 builds an IPv4 packet; opts are extra header bytes (a multiple of 4)
// and fragOff the flags-and-offset word.
func ipv4(proto byte, opts []byte, fragOff uint16, payload []byte) []byte {
	ihl := 20 + len(opts)
	b := make([]byte, ihl, ihl+len(payload))
	b[0] = 0x40 | byte(ihl/4)
	binary.BigEndian.PutUint16(b[2:4], uint16(ihl+len(payload)))
	binary.BigEndian.PutUint16(b[6:8], fragOff)
	b[8] = 64
	b[9] = proto
	copy(b[12:16], v4a.AsSlice())
	copy(b[16:20], v4b.AsSlice())
	copy(b[20:], opts)
	return append(b, payload...)
}

func ipv6(next byte, payload []byte) []byte {
	b := make([]byte, 40, 40+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:6], uint16(len(payload)))
	b[6] = next
	b[7] = 64
	copy(b[8:24], v6a.AsSlice())
	copy(b[24:40], v6b.AsSlice())
	return append(b, payload...)
}

// ext6 builds an IPv6 options-style extension header of 8·(1+units) bytes.
func ext6(next byte, units int, payload []byte) []byte {
	b := make([]byte, 8*(1+units))
	b[0] = next
	b[1] = byte(units)
	return append(b, payload...)
}

// frag6 builds an IPv6 fragment header.
func frag6(next byte, offset uint16, more bool, payload []byte) []byte {
	b := make([]byte, 8)
	b[0] = next
	w := offset << 3
	if more {
		w |= 1
	}
	binary.BigEndian.PutUint16(b[2:4], w)
	return append(b, payload...)
}

func ether(etherType uint16, payload []byte) []byte {
	b := make([]byte, 14, 14+len(payload))
	copy(b[0:6], []byte{2, 0, 0, 0, 0, 1})
	copy(b[6:12], []byte{2, 0, 0, 0, 0, 2})
	binary.BigEndian.PutUint16(b[12:14], etherType)
	return append(b, payload...)
}

// tag builds an 802.1Q-style tag body: TCI and the next EtherType.
func tag(id uint16, next uint16, payload []byte) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint16(b[0:2], 5<<13|id) // PCP 5 must not leak into the ID
	binary.BigEndian.PutUint16(b[2:4], next)
	return append(b, payload...)
}

func sll(proto uint16, payload []byte) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint16(b[2:4], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(b[4:6], 6)
	binary.BigEndian.PutUint16(b[14:16], proto)
	return append(b, payload...)
}

func sll2(proto uint16, payload []byte) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b[0:2], proto)
	binary.BigEndian.PutUint32(b[4:8], 2)
	binary.BigEndian.PutUint16(b[8:10], 1)
	b[11] = 6
	return append(b, payload...)
}

func null(family uint32, order binary.ByteOrder, payload []byte) []byte {
	b := make([]byte, 4)
	order.PutUint32(b, family)
	return append(b, payload...)
}

func pad(b []byte, n int) []byte {
	for len(b) < n {
		b = append(b, 0)
	}
	return b
}

func TestDecode(t *testing.T) {
	v4 := ipv4(17, nil, 0, udp(ntp))
	v6 := ipv6(17, udp(ntp))
	short := []byte{0x16, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0} // a 12-byte mode 6 query
	tests := []struct {
		name      string
		link      LinkType
		data      []byte
		err       error
		src       netip.Addr
		vlan      uint16
		innerVLAN uint16
		payload   []byte
	}{
		{name: "Ethernet IPv4", link: LinkEthernet, data: ether(0x0800, v4), src: v4a, payload: ntp},
		{name: "Ethernet padding is not payload", link: LinkEthernet, data: pad(ether(0x0800, ipv4(17, nil, 0, udp(short))), 60), src: v4a, payload: short},
		{name: "IPv4 options", link: LinkEthernet, data: ether(0x0800, ipv4(17, []byte{0x94, 4, 0, 0}, 0, udp(ntp))), src: v4a, payload: ntp},
		{name: "802.1Q", link: LinkEthernet, data: ether(0x8100, tag(100, 0x0800, v4)), src: v4a, vlan: 100, payload: ntp},
		{name: "802.1Q IPv6", link: LinkEthernet, data: ether(0x8100, tag(4094, 0x86dd, v6)), src: v6a, vlan: 4094, payload: ntp},
		{name: "QinQ 802.1ad", link: LinkEthernet, data: ether(0x88a8, tag(200, 0x8100, tag(100, 0x0800, v4))), src: v4a, vlan: 200, innerVLAN: 100, payload: ntp},
		{name: "QinQ 0x9100", link: LinkEthernet, data: ether(0x9100, tag(7, 0x8100, tag(8, 0x86dd, v6))), src: v6a, vlan: 7, innerVLAN: 8, payload: ntp},
		{name: "three tags", link: LinkEthernet, data: ether(0x88a8, tag(1, 0x8100, tag(2, 0x8100, tag(3, 0x0800, v4)))), err: ErrUnsupported},
		{name: "Ethernet IPv6", link: LinkEthernet, data: ether(0x86dd, v6), src: v6a, payload: ntp},
		{name: "IPv6 hop-by-hop, routing, destination options", link: LinkEthernet,
			data: ether(0x86dd, ipv6(0, ext6(43, 0, ext6(60, 1, ext6(17, 2, udp(ntp)))))), src: v6a, payload: ntp},
		{name: "IPv6 atomic fragment", link: LinkEthernet, data: ether(0x86dd, ipv6(44, frag6(17, 0, false, udp(ntp)))), src: v6a, payload: ntp},
		{name: "IPv6 first fragment holding the whole datagram", link: LinkEthernet, data: ether(0x86dd, ipv6(44, frag6(17, 0, true, udp(ntp)))), src: v6a, payload: ntp},
		{name: "IPv6 first fragment, datagram continues", link: LinkEthernet, data: ether(0x86dd, ipv6(44, frag6(17, 0, true, udp(ntp)[:30]))), err: ErrFragment},
		{name: "IPv6 later fragment", link: LinkEthernet, data: ether(0x86dd, ipv6(44, frag6(17, 185, false, ntp))), err: ErrFragment},
		{name: "IPv6 authentication header", link: LinkRaw, data: ipv6(51, append([]byte{17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1}, udp(ntp)...)), src: v6a, payload: ntp},
		{name: "IPv6 no next header", link: LinkRaw, data: ipv6(59, nil), err: ErrNotUDP},
		{name: "IPv6 extension header chain too long", link: LinkRaw,
			data: ipv6(60, ext6(60, 0, ext6(60, 0, ext6(60, 0, ext6(60, 0, ext6(60, 0, ext6(60, 0, ext6(60, 0, ext6(60, 0, ext6(17, 0, udp(ntp))))))))))), err: ErrMalformed},
		{name: "IPv6 jumbogram", link: LinkRaw, data: ipv6(0, nil), err: ErrUnsupported},
		{name: "IPv6 extension header cut", link: LinkRaw, data: ipv6(60, []byte{17, 4, 0, 0, 0, 0, 0, 0}), err: ErrTruncated},
		{name: "IPv4 first fragment holding the whole datagram", link: LinkRaw, data: ipv4(17, nil, 0x2000, udp(ntp)), src: v4a, payload: ntp},
		{name: "IPv4 first fragment, datagram continues", link: LinkRaw, data: ipv4(17, nil, 0x2000, udp(ntp)[:24]), err: ErrFragment},
		{name: "IPv4 first fragment without the whole UDP header", link: LinkRaw, data: ipv4(17, nil, 0x2000, udp(ntp)[:4]), err: ErrFragment},
		{name: "IPv4 later fragment", link: LinkRaw, data: ipv4(17, nil, 0x0007, ntp), err: ErrFragment},
		{name: "IPv4 later, last fragment", link: LinkRaw, data: ipv4(17, nil, 0x2007, ntp), err: ErrFragment},
		{name: "IPv4 don't-fragment flag", link: LinkRaw, data: ipv4(17, nil, 0x4000, udp(ntp)), src: v4a, payload: ntp},
		{name: "TCP", link: LinkRaw, data: ipv4(6, nil, 0, make([]byte, 20)), err: ErrNotUDP},
		{name: "ICMPv6", link: LinkRaw, data: ipv6(58, make([]byte, 8)), err: ErrNotUDP},
		{name: "ARP", link: LinkEthernet, data: ether(0x0806, make([]byte, 28)), err: ErrUnsupported},
		{name: "unknown link type", link: 9999, data: v4, err: ErrUnsupported},
		{name: "raw IP version 5", link: LinkRaw, data: append([]byte{0x50}, v4[1:]...), err: ErrUnsupported},
		{name: "Linux cooked v1", link: LinkLinuxSLL, data: sll(0x0800, v4), src: v4a, payload: ntp},
		{name: "Linux cooked v1, IPv6", link: LinkLinuxSLL, data: sll(0x86dd, v6), src: v6a, payload: ntp},
		{name: "Linux cooked v2", link: LinkLinuxSLL2, data: sll2(0x86dd, v6), src: v6a, payload: ntp},
		{name: "Linux cooked v2 as gopacket reports it", link: LinkLinuxSLL2Uint8, data: sll2(0x0800, v4), src: v4a, payload: ntp},
		{name: "Linux cooked v2 with in-band tag", link: LinkLinuxSLL2, data: sll2(0x8100, tag(10, 0x0800, v4)), src: v4a, vlan: 10, payload: ntp},
		{name: "DLT_RAW 12", link: LinkRawDLT, data: v6, src: v6a, payload: ntp},
		{name: "DLT_RAW 14", link: LinkRawOpenBSD, data: v4, src: v4a, payload: ntp},
		{name: "LINKTYPE_IPV4", link: LinkIPv4, data: v4, src: v4a, payload: ntp},
		{name: "LINKTYPE_IPV6", link: LinkIPv6, data: v6, src: v6a, payload: ntp},
		{name: "LINKTYPE_IPV4 given IPv6", link: LinkIPv4, data: v6, err: ErrUnsupported},
		{name: "NULL, little-endian AF_INET", link: LinkNull, data: null(2, binary.LittleEndian, v4), src: v4a, payload: ntp},
		{name: "NULL, big-endian AF_INET6 (macOS)", link: LinkNull, data: null(30, binary.BigEndian, v6), src: v6a, payload: ntp},
		{name: "NULL, Linux AF_INET6", link: LinkNull, data: null(10, binary.LittleEndian, v6), src: v6a, payload: ntp},
		{name: "NULL, unknown family", link: LinkNull, data: null(7, binary.LittleEndian, v4), err: ErrUnsupported},
		{name: "LOOP", link: LinkLoop, data: null(24, binary.BigEndian, v6), src: v6a, payload: ntp},
		{name: "empty", link: LinkEthernet, data: nil, err: ErrTruncated},
		{name: "short Ethernet", link: LinkEthernet, data: ether(0x0800, nil)[:13], err: ErrTruncated},
		{name: "short tag", link: LinkEthernet, data: ether(0x8100, []byte{0, 1}), err: ErrTruncated},
		{name: "short SLL", link: LinkLinuxSLL, data: make([]byte, 15), err: ErrTruncated},
		{name: "short SLL2", link: LinkLinuxSLL2, data: make([]byte, 19), err: ErrTruncated},
		{name: "short NULL", link: LinkNull, data: []byte{2, 0}, err: ErrTruncated},
		{name: "short raw", link: LinkRaw, data: nil, err: ErrTruncated},
		{name: "short IPv4", link: LinkRaw, data: v4[:19], err: ErrTruncated},
		{name: "short IPv6", link: LinkRaw, data: v6[:39], err: ErrTruncated},
		{name: "IPv4 options cut", link: LinkRaw, data: ipv4(17, make([]byte, 40), 0, udp(ntp))[:40], err: ErrTruncated},
		{name: "IPv4 header length under 20", link: LinkRaw, data: append([]byte{0x44}, v4[1:]...), err: ErrMalformed},
		{name: "IPv4 total length under header length", link: LinkRaw, data: append(append([]byte{}, v4[:2]...), append([]byte{0, 10}, v4[4:]...)...), err: ErrMalformed},
		{name: "UDP length under 8", link: LinkRaw, data: ipv4(17, nil, 0, []byte{0, 1, 0, 123, 0, 7, 0, 0}), err: ErrMalformed},
		{name: "UDP header cut", link: LinkRaw, data: ipv4(17, nil, 0, []byte{0, 1, 0, 123}), err: ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := bytes.Clone(tc.data)
			f := Frame{VLAN: 999, Payload: []byte("stale")}
			err := Decode(tc.link, tc.data, &f)
			if !bytes.Equal(in, tc.data) {
				t.Fatal("Decode modified its input")
			}
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				// Only a cut UDP payload leaves headers whole to read.
				if errors.Is(err, ErrCut) {
					t.Errorf("error %v is ErrCut", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			dst := v4b
			if tc.src.Is6() {
				dst = v6b
			}
			if f.Src != tc.src || f.Dst != dst || f.SrcPort != 40000 || f.DstPort != 123 {
				t.Errorf("addresses %v:%d → %v:%d, want %v:40000 → %v:123", f.Src, f.SrcPort, f.Dst, f.DstPort, tc.src, dst)
			}
			if f.VLAN != tc.vlan || f.InnerVLAN != tc.innerVLAN {
				t.Errorf("VLAN %d/%d, want %d/%d", f.VLAN, f.InnerVLAN, tc.vlan, tc.innerVLAN)
			}
			if !bytes.Equal(f.Payload, tc.payload) || f.Length != len(tc.payload) {
				t.Errorf("payload % x (length %d), want % x", f.Payload, f.Length, tc.payload)
			}
		})
	}
}

// A datagram cut by the snaplen keeps its addresses, ports and the captured
// part of the payload, so a caller can still read the NTP header.
func TestDecodeCut(t *testing.T) {
	for name, tc := range map[string]struct {
		data []byte
		cut  int
	}{
		"IPv4": {ether(0x0800, ipv4(17, nil, 0, udp(ntp))), 14 + 20 + 8 + 30},
		"IPv6": {ether(0x86dd, ipv6(17, udp(ntp))), 14 + 40 + 8 + 30},
	} {
		var f Frame
		err := Decode(LinkEthernet, tc.data[:tc.cut], &f)
		if !errors.Is(err, ErrCut) || !errors.Is(err, ErrTruncated) {
			t.Fatalf("%s: error %v, want ErrCut, an ErrTruncated", name, err)
		}
		if !bytes.Equal(f.Payload, ntp[:30]) || f.Length != len(ntp) || f.DstPort != 123 || !f.Src.IsValid() {
			t.Errorf("%s: %+v", name, f)
		}
	}
}

func TestLinkType(t *testing.T) {
	for _, l := range []LinkType{LinkNull, LinkEthernet, LinkRawDLT, LinkRawOpenBSD, LinkRaw, LinkLoop, LinkLinuxSLL, LinkIPv4, LinkIPv6, LinkLinuxSLL2, LinkLinuxSLL2Uint8} {
		if !l.Supported() {
			t.Errorf("%v (%d) not supported", l, int(l))
		}
		var f Frame
		if err := Decode(l, nil, &f); errors.Is(err, ErrUnsupported) {
			t.Errorf("%v: %v", l, err)
		}
	}
	if LinkType(9).Supported() || LinkType(9).String() != "DLT 9" {
		t.Errorf("DLT 9: supported %v, %q", LinkType(9).Supported(), LinkType(9).String())
	}
	if LinkLinuxSLL2.String() != "LINUX_SLL2" || LinkEthernet.String() != "EN10MB" {
		t.Error("link type names")
	}
}

func TestNoAllocations(t *testing.T) {
	frames := map[string]struct {
		link LinkType
		data []byte
	}{
		"IPv4":          {LinkEthernet, ether(0x0800, ipv4(17, nil, 0, udp(ntp)))},
		"VLAN IPv6":     {LinkEthernet, ether(0x8100, tag(5, 0x86dd, ipv6(17, udp(ntp))))},
		"SLL2":          {LinkLinuxSLL2, sll2(0x0800, ipv4(17, nil, 0, udp(ntp)))},
		"fragment":      {LinkRaw, ipv4(17, nil, 7, ntp)},
		"not UDP":       {LinkRaw, ipv4(6, nil, 0, ntp)},
		"unknown link":  {9999, ntp},
		"unknown ether": {LinkEthernet, ether(0x0806, ntp)},
	}
	var f Frame
	for name, fr := range frames {
		if n := testing.AllocsPerRun(100, func() { _ = Decode(fr.link, fr.data, &f) }); n != 0 {
			t.Errorf("%s: %v allocations per decode, want 0", name, n)
		}
	}
}
