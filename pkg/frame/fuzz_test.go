package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"unsafe"
)

// FuzzDecode checks that Decode never panics, fails only with its own
// errors, leaves its input alone and returns a payload that lies inside the
// input. The seed corpus in testdata/fuzz/FuzzDecode holds frames of the
// golden captures; link is a libpcap link type.
func FuzzDecode(f *testing.F) {
	v4 := ipv4(17, nil, 0, udp(ntp))
	v6 := ipv6(17, udp(ntp))
	f.Add(int(LinkEthernet), ether(0x8100, tag(100, 0x0800, v4)))
	f.Add(int(LinkEthernet), ether(0x88a8, tag(200, 0x8100, tag(100, 0x86dd, v6))))
	f.Add(int(LinkEthernet), ether(0x86dd, ipv6(0, ext6(44, 0, frag6(17, 0, true, udp(ntp))))))
	f.Add(int(LinkLinuxSLL), sll(0x0800, ipv4(17, []byte{1, 1, 1, 1}, 0x2000, udp(ntp))))
	f.Add(int(LinkLinuxSLL2), sll2(0x86dd, v6))
	f.Add(int(LinkRaw), v4)
	f.Add(int(LinkNull), null(30, binary.BigEndian, v6))
	f.Fuzz(func(t *testing.T, link int, data []byte) {
		in := bytes.Clone(data)
		var fr Frame
		err := Decode(LinkType(link), data, &fr)
		if !bytes.Equal(in, data) {
			t.Fatal("Decode modified its input")
		}
		if len(fr.Payload) > 0 {
			start := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
			p := uintptr(unsafe.Pointer(unsafe.SliceData(fr.Payload)))
			if p < start || p+uintptr(cap(fr.Payload)) > start+uintptr(len(data)) {
				t.Fatalf("payload [%d, +%d) outside the %d input bytes", p-start, cap(fr.Payload), len(data))
			}
		}
		if err != nil {
			for _, e := range []error{ErrTruncated, ErrUnsupported, ErrFragment, ErrNotUDP, ErrMalformed} {
				if errors.Is(err, e) {
					if len(fr.Payload) > 0 && !errors.Is(err, ErrTruncated) {
						t.Fatalf("payload returned with %v", err)
					}
					return
				}
			}
			t.Fatalf("unexpected error %v", err)
		}
		if len(fr.Payload) != fr.Length {
			t.Fatalf("payload %d bytes, length %d", len(fr.Payload), fr.Length)
		}
		if !fr.Src.IsValid() || fr.Src.Is4() != fr.Dst.Is4() {
			t.Fatalf("addresses %v → %v", fr.Src, fr.Dst)
		}
		if fr.VLAN > 4095 || fr.InnerVLAN > 4095 {
			t.Fatalf("VLAN %d/%d", fr.VLAN, fr.InnerVLAN)
		}
	})
}
