package frame_test

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/ntp-monitor/ntp-monitor/pkg/frame"
)

// benchFrames are real frames from the golden captures: a chronyd reply
// over IPv4 and over IPv6, and one with an 802.1Q tag.
func benchFrames(b *testing.B) map[string][]byte {
	b.Helper()
	pick := func(file string, want func(*frame.Frame) bool) []byte {
		_, raw, frames := readGolden(b, filepath.Join(goldenDir, file))
		for i := range frames {
			if want(&frames[i].f) {
				return raw[i]
			}
		}
		b.Fatalf("no suitable frame in %s", file)
		return nil
	}
	reply := func(v6 bool) func(*frame.Frame) bool {
		return func(f *frame.Frame) bool { return f.SrcPort == 123 && f.Src.Is6() == v6 }
	}
	return map[string][]byte{
		"ipv4":      pick("chrony.pcap", reply(false)),
		"ipv6":      pick("chrony.pcap", reply(true)),
		"vlan-ipv4": pick("vlan.pcap", reply(false)),
	}
}

// result keeps the compiler from discarding the decoders' work.
type result struct {
	src, dst         netip.Addr
	srcPort, dstPort uint16
	vlan             uint16
	payload          []byte
}

var sink result

// BenchmarkDecode compares the hand-written decoder with gopacket's
// DecodingLayerParser (Ethernet, Dot1Q, IPv4, IPv6, UDP; IgnoreUnsupported)
// on the same frames, each producing the same result: addresses, ports,
// VLAN and payload.
func BenchmarkDecode(b *testing.B) {
	frames := benchFrames(b)
	for _, name := range []string{"ipv4", "ipv6", "vlan-ipv4"} {
		data := frames[name]
		b.Run("handwritten/"+name, func(b *testing.B) {
			var f frame.Frame
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if err := frame.Decode(frame.LinkEthernet, data, &f); err != nil {
					b.Fatal(err)
				}
				sink = result{f.Src, f.Dst, f.SrcPort, f.DstPort, f.VLAN, f.Payload}
			}
		})
		b.Run("gopacket/"+name, func(b *testing.B) {
			var (
				eth     layers.Ethernet
				dot1q   layers.Dot1Q
				ip4     layers.IPv4
				ip6     layers.IPv6
				udp     layers.UDP
				payload gopacket.Payload
			)
			parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &dot1q, &ip4, &ip6, &udp, &payload)
			parser.IgnoreUnsupported = true
			decoded := make([]gopacket.LayerType, 0, 8)
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if err := parser.DecodeLayers(data, &decoded); err != nil {
					b.Fatal(err)
				}
				var r result
				for _, lt := range decoded {
					switch lt {
					case layers.LayerTypeDot1Q:
						r.vlan = dot1q.VLANIdentifier
					case layers.LayerTypeIPv4:
						r.src, _ = netip.AddrFromSlice(ip4.SrcIP)
						r.dst, _ = netip.AddrFromSlice(ip4.DstIP)
					case layers.LayerTypeIPv6:
						r.src, _ = netip.AddrFromSlice(ip6.SrcIP)
						r.dst, _ = netip.AddrFromSlice(ip6.DstIP)
					case layers.LayerTypeUDP:
						r.srcPort, r.dstPort, r.payload = uint16(udp.SrcPort), uint16(udp.DstPort), udp.Payload
					}
				}
				if r.payload == nil {
					b.Fatal("gopacket found no UDP payload")
				}
				sink = r
			}
		})
	}
}
