package worker

import (
	"bytes"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/frame"
	"github.com/ntp-monitor/ntp-monitor/pkg/pairing"
	"github.com/ntp-monitor/ntp-monitor/pkg/sender"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapfile"
	"github.com/ntp-monitor/ntp-monitor/pkg/testkit/pcapgen"
)

type capturedPacket struct {
	ts   time.Time
	data []byte
}

// benchPackets returns n requests and their responses from 10,000 clients,
// half on IPv6, as captured frames in memory.
func benchPackets(b *testing.B, requests int, link frame.LinkType, vlan uint16) []capturedPacket {
	b.Helper()
	var buf bytes.Buffer
	if _, err := pcapgen.Write(&buf, pcapgen.Config{Requests: requests, Clients: 10_000, IPv6Every: 2, RandomTransmitEvery: 3, Link: link, VLAN: vlan}); err != nil {
		b.Fatal(err)
	}
	r, err := pcapfile.NewReader(&buf)
	if err != nil {
		b.Fatal(err)
	}
	var pkts []capturedPacket
	for {
		ts, data, _, err := r.Next()
		if err != nil {
			break
		}
		pkts = append(pkts, capturedPacket{ts, append([]byte(nil), data...)})
	}
	return pkts
}

// BenchmarkDecodePair is the per-packet work of the capture loop after
// libpcap hands over a frame: frame decode, NTP decode, pairing, and the
// copy of each session into the sender's spool. One op is one packet.
func BenchmarkDecodePair(b *testing.B) {
	for _, tc := range []struct {
		name string
		link frame.LinkType
		vlan uint16
	}{{"ethernet", frame.LinkEthernet, 0}, {"vlan", frame.LinkEthernet, 100}, {"sll2", frame.LinkLinuxSLL2, 0}} {
		b.Run(tc.name, func(b *testing.B) {
			pkts := benchPackets(b, 100_000, tc.link, tc.vlan)
			// A sender that is never run: Send only copies into its spool
			// and drops the oldest when full, as a live capture's does.
			w := &Worker{snd: sender.New(sender.Config{Addr: "127.0.0.1:1", Spool: 4096})}
			w.table = pairing.New(pairing.Config{Interface: "bench0"}, w.emit)
			w.pkt.NTP = &w.msg
			// Packet times move forward by the span of the capture on
			// every lap, so each lap pairs afresh.
			span := pkts[len(pkts)-1].ts.Sub(pkts[0].ts) + time.Second
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p := &pkts[i%len(pkts)]
				w.handle(tc.link, p.data, p.ts.Add(time.Duration(i/len(pkts))*span))
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
			if w.decode.Total() != 0 || w.table.Counters().Unmatched != 0 {
				b.Fatalf("decode errors %+v, pairing %+v", w.decode, w.table.Counters())
			}
		})
	}
}
