package wire

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestAppendIP(t *testing.T) {
	check := func(a netip.Addr) {
		t.Helper()
		if got, want := string(appendIP(nil, a)), string(a.AppendTo(nil)); got != want {
			t.Fatalf("appendIP(%v) = %q, want %q", a, got, want)
		}
	}
	for _, s := range []string{
		"::", "::1", "1::", "2001:db8::1", "2001:db8:0:1:0:0:0:1", "2001:0:0:1:0:0:0:1",
		"1:0:1:0:1:0:1:0", "0:1:0:1:0:1:0:1", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:0", "0:2:3:4:5:6:7:8",
		"fe80::1%eth0", "::ffff:192.0.2.1", "::192.0.2.1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"192.0.2.1", "0.0.0.0", "2001:db8:abc:def:1234:5678:9abc:f00",
	} {
		check(netip.MustParseAddr(s))
	}
	check(netip.Addr{})
	// Random addresses, with groups zeroed at random so that runs of every
	// length and position occur.
	r := rand.New(rand.NewPCG(5, 6))
	for range 500_000 {
		var raw [16]byte
		mask := r.Uint32()
		for i := 0; i < 8; i++ {
			if mask&(1<<i) != 0 {
				continue
			}
			v := r.Uint32()
			switch mask >> 8 & 3 { // short groups too, for the leading zeros
			case 0:
				v &= 0xf
			case 1:
				v &= 0xff
			}
			raw[2*i], raw[2*i+1] = byte(v>>8), byte(v)
		}
		check(netip.AddrFrom16(raw))
	}
}

func FuzzAppendIP(f *testing.F) {
	f.Add([]byte(netip.MustParseAddr("2001:db8::1").AsSlice()))
	f.Add([]byte{192, 0, 2, 1})
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, ok := netip.AddrFromSlice(raw)
		if !ok {
			return
		}
		if got, want := string(appendIP(nil, a)), string(a.AppendTo(nil)); got != want {
			t.Fatalf("appendIP(%v) = %q, want %q", a, got, want)
		}
	})
}

func BenchmarkAppendIP(b *testing.B) {
	for _, s := range []string{"2001:db8::1:2a", "2001:db8:85a3:8d3:1319:8a2e:370:7348", "198.51.100.7"} {
		a := netip.MustParseAddr(s)
		buf := make([]byte, 0, 64)
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf = appendIP(buf[:0], a)
			}
		})
		b.Run(s+"/netip", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf = a.AppendTo(buf[:0])
			}
		})
	}
}
