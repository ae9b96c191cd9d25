package wire

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// randomSession returns a session with the kinds of values the pairing
// table produces: NTP timestamps as Unix seconds, NTP differences, short
// format root delay and dispersion, capture-time differences in whole
// nanoseconds.
func randomSession(r *rand.Rand) session.Session {
	addr := func() netip.Addr {
		if r.IntN(2) == 0 {
			return netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
		}
		var b [16]byte
		for i := range b {
			if r.IntN(3) > 0 {
				b[i] = byte(r.Uint32())
			}
		}
		return netip.AddrFrom16(b)
	}
	ts := func() ntp.Time {
		if r.IntN(10) == 0 {
			return 0 // null
		}
		return ntp.Time(r.Uint64())
	}
	s := session.Session{
		ClientIP: addr(), ClientPort: uint16(r.Uint32()), ServerIP: addr(), ServerPort: 123,
		Interface: "eth0", Version: uint8(1 + r.IntN(4)), Mode: 3, Poll: int8(r.IntN(18)), PacketLength: 48,
		Timestamp: time.Unix(1_700_000_000+r.Int64N(1e9), r.Int64N(1e9)).UTC(),
	}
	if r.IntN(10) == 0 {
		return s
	}
	rx, tx := ts(), ts()
	s.Answered, s.Stratum, s.Precision, s.Leap = true, uint8(r.IntN(16)), int8(-r.IntN(32)), session.LeapNoWarning
	s.RootDelay, s.RootDispersion = ntp.ShortSeconds(r.Uint32()), ntp.ShortSeconds(r.Uint32()>>r.IntN(32))
	s.ReferenceID = "192.0.2.1"
	s.ReferenceTime, s.OriginateTime, s.ReceiveTime, s.TransmitTime = ts().Unix(), ts().Unix(), rx.Unix(), tx.Unix()
	s.Latency, s.LatencyValid = ntp.Sub(rx, rx-ntp.Time(r.Int64N(1<<34))), r.IntN(3) > 0
	if !s.LatencyValid {
		s.Latency = 0
	}
	s.Processing = ntp.Sub(tx, rx)
	s.Total = float64(r.Int64N(3e9)) / 1e9
	return s
}

// TestSessionRoundTripRandom encodes random sessions and decodes them back:
// every field, floats bit for bit, must come back as it was.
func TestSessionRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	d := NewDecoder()
	var m Message
	var line []byte
	for i := range 100_000 {
		want := randomSession(r)
		line = AppendSession(line[:0], uint64(i+1), &want)
		if i < 1000 && !json.Valid(line) {
			t.Fatalf("not valid JSON: %s", line)
		}
		if err := d.Decode(line, &m); err != nil {
			t.Fatalf("Decode(%s): %v", line, err)
		}
		if !reflect.DeepEqual(m.Session, want) {
			t.Fatalf("round trip of %s:\n got %+v\nwant %+v", line, m.Session, want)
		}
	}
}

// TestEncoderMatchesAppendSession: an Encoder writes every line exactly as
// AppendSession does while the server's fields stay, change back and
// forth, or change on every session.
func TestEncoderMatchesAppendSession(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	servers := make([]session.Session, 3)
	for i := range servers {
		servers[i] = randomSession(r)
		servers[i].Answered = true
	}
	var e Encoder
	var got, want []byte
	for i := range 100_000 {
		s := randomSession(r)
		if k := r.IntN(8); k < len(servers) { // mostly a known server's state
			srv := &servers[k]
			s.ServerIP, s.ServerPort, s.Interface = srv.ServerIP, srv.ServerPort, srv.Interface
			if s.Answered {
				s.Stratum, s.Precision, s.RootDelay, s.RootDispersion = srv.Stratum, srv.Precision, srv.RootDelay, srv.RootDispersion
				s.ReferenceID, s.Leap, s.ReferenceTime = srv.ReferenceID, srv.Leap, srv.ReferenceTime
			}
		}
		if r.IntN(50) == 0 {
			s.Interface = "br-\"x\\"
		}
		if r.IntN(50) == 0 {
			s.RootDelay = math.Copysign(0, -1)
		}
		got = e.AppendSession(got[:0], uint64(i+1), &s)
		want = AppendSession(want[:0], uint64(i+1), &s)
		if string(got) != string(want) {
			t.Fatalf("session %d:\nEncoder       %s\nAppendSession %s", i, got, want)
		}
	}
}

// BenchmarkEncoder writes the lines of one server's sessions: the
// pairing table's kind of values, the server's state unchanged.
func BenchmarkEncoder(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	srv := randomSession(r)
	ss := make([]session.Session, 1024)
	for i := range ss {
		s := randomSession(r)
		s.ServerIP, s.ServerPort, s.Interface = srv.ServerIP, 123, "eth0"
		s.Stratum, s.Precision, s.RootDelay, s.RootDispersion, s.ReferenceID = 2, -24, 0.00390625, 0.0078125, "192.0.2.250"
		s.ReferenceTime = srv.ReceiveTime
		ss[i] = s
	}
	buf := make([]byte, 0, 4096)
	b.Run("Encoder", func(b *testing.B) {
		var e Encoder
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			buf = e.AppendSession(buf[:0], uint64(i+1), &ss[i%len(ss)])
			i++
		}
	})
	b.Run("AppendSession", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			buf = AppendSession(buf[:0], uint64(i+1), &ss[i%len(ss)])
			i++
		}
	})
}
