package storetest

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// Base is the capture time of the first generated session.
var Base = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// Server is the address the generated clients talk to.
var Server = netip.MustParseAddr("192.0.2.1")

// Client returns the i-th of a set of distinct client addresses, half IPv4
// and half IPv6: even i from 198.18.0.0/15 (the range set aside for
// benchmarks) while it lasts, odd i and the even ones beyond it from
// 2001:db8::/32. The addresses are only ever stored, never sent to.
func Client(i int) netip.Addr {
	n := uint32(i / 2)
	if i%2 == 0 && n < 1<<17 {
		return netip.AddrFrom4([4]byte{198, 18 + byte(n>>16), byte(n >> 8), byte(n)})
	}
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	b[5] = byte(i % 2) // 2001:db8:0::/48 for even i, 2001:db8:1::/48 for odd
	b[12], b[13], b[14], b[15] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return netip.AddrFrom16(b)
}

// Generator produces sessions over a fixed set of clients.
type Generator struct {
	Clients   int    // distinct client addresses; default 10,000
	Interface string // default "eth0"
	rng       *rand.Rand
	n         int
}

// NewGenerator returns a deterministic generator for seed.
func NewGenerator(clients int, seed uint64) *Generator {
	if clients <= 0 {
		clients = 10000
	}
	return &Generator{Clients: clients, Interface: "eth0", rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Next fills s with the next session: a random client; nine in ten answered,
// one in a hundred a RATE kiss-o'-death, one in fifty a mode 6 or 7 query;
// capture times advance by 1 ms with some jitter, so some arrive out of order.
func (g *Generator) Next(s *session.Session) {
	g.n++
	c := g.rng.IntN(g.Clients)
	ts := Base.Add(time.Duration(g.n)*time.Millisecond - time.Duration(g.rng.IntN(50))*time.Millisecond)
	*s = session.Session{
		ClientIP:     Client(c),
		ClientPort:   uint16(1024 + c%60000),
		ServerIP:     Server,
		ServerPort:   123,
		Interface:    g.Interface,
		Version:      4,
		Mode:         3,
		Poll:         6,
		PacketLength: 48,
		Timestamp:    ts,
	}
	r := g.rng.IntN(100)
	switch {
	case r < 2:
		s.Mode = 6 + uint8(r)
		s.Version = 2
		s.PacketLength = 12
		return
	case r < 10:
		return // unanswered
	}
	unix := float64(ts.UnixNano()) / 1e9
	s.Answered = true
	s.Stratum = 2
	s.Precision = -24
	s.RootDelay = 0.0012
	s.RootDispersion = 0.003
	s.ReferenceID = "192.0.2.53"
	s.Leap = session.LeapNoWarning
	s.ReferenceTime = unix - 30
	s.OriginateTime = unix - 0.0001
	s.ReceiveTime = unix + 0.0002
	s.TransmitTime = unix + 0.00021
	s.Latency = 0.0003 + float64(g.rng.IntN(1000))*1e-7
	s.LatencyValid = r%3 != 0
	s.Processing = 0.00001 + float64(g.rng.IntN(100))*1e-7
	s.Total = 0.00002 + float64(g.rng.IntN(100))*1e-7
	if r == 99 {
		s.Stratum = 0
		s.ReferenceID = "RATE"
		s.KoD = "RATE"
	}
}

// Sessions returns n sessions from a new generator.
func Sessions(n, clients int, seed uint64) []session.Session {
	g := NewGenerator(clients, seed)
	out := make([]session.Session, n)
	for i := range out {
		g.Next(&out[i])
	}
	return out
}

// Latencies collects durations, such as commit latencies, for percentiles.
type Latencies []time.Duration

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100), or 0
// when empty. It sorts l.
func (l Latencies) Percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	slices.Sort(l)
	i := int(math.Ceil(p/100*float64(len(l)))) - 1
	return l[max(0, min(i, len(l)-1))]
}

// Report adds p50 and p99 in milliseconds to a benchmark's output, named
// with prefix ("commit" gives commit-p50-ms and commit-p99-ms).
func (l Latencies) Report(b *testing.B, prefix string) {
	if len(l) == 0 {
		return
	}
	b.ReportMetric(float64(l.Percentile(50))/1e6, prefix+"-p50-ms")
	b.ReportMetric(float64(l.Percentile(99))/1e6, prefix+"-p99-ms")
}
