package ntp

import (
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

var (
	sinkPacket Packet
	sinkString string
)

// BenchmarkDecode measures Decode on a chronyd reply, an NTS request and a
// mode 6 query, with gopacket's layers.NTP on the same reply as a reference
// (it has no mode 6/7 or extension-field support).
func BenchmarkDecode(b *testing.B) {
	reply := mustHex(b, chronyReply)
	cases := map[string][]byte{
		"reply": reply,
		"nts":   cat(reply, ext(ExtUniqueIdentifier, 36), ext(ExtNTSCookie, 104), ext(ExtNTSAuthenticator, 40)),
		"mode6": mustHex(b, "16 02 0001 0000 0000 0000 0000"),
	}
	for _, name := range []string{"reply", "nts", "mode6"} {
		in := cases[name]
		b.Run(name, func(b *testing.B) {
			var p Packet
			b.ReportAllocs()
			for b.Loop() {
				if err := Decode(in, &p); err != nil {
					b.Fatal(err)
				}
			}
			sinkPacket = p
		})
	}
	b.Run("reply+RefIDCache", func(b *testing.B) {
		var p Packet
		var c RefIDCache
		b.ReportAllocs()
		for b.Loop() {
			if err := Decode(reply, &p); err != nil {
				b.Fatal(err)
			}
			sinkString = c.RefID(&p)
		}
	})
	b.Run("gopacket/reply", func(b *testing.B) {
		var n layers.NTP
		b.ReportAllocs()
		for b.Loop() {
			if err := n.DecodeFromBytes(reply, gopacket.NilDecodeFeedback); err != nil {
				b.Fatal(err)
			}
		}
		sinkPacket.Stratum = uint8(n.Stratum)
	})
}
