package hll

import (
	"errors"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// addrs returns n distinct addresses starting at the i-th of 198.18.0.0/15
// and then of 2001:db8::/32, as the store's tests use.
func addr(i uint64) netip.Addr {
	if i < 1<<17 {
		return netip.AddrFrom4([4]byte{198, 18 + byte(i>>16), byte(i >> 8), byte(i)})
	}
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	for k := 0; k < 8; k++ {
		b[15-k] = byte(i >> (8 * k))
	}
	return netip.AddrFrom16(b)
}

func TestExactUpToLimit(t *testing.T) {
	var s Sketch
	for i := uint64(0); i < ExactLimit; i++ {
		s.Add(HashAddr(addr(i)))
		s.Add(HashAddr(addr(i))) // duplicates count once
		if got := s.Count(); got != i+1 {
			t.Fatalf("after %d distinct: count %d", i+1, got)
		}
	}
	if !s.Exact() {
		t.Fatal("sketch left the exact tier at the limit")
	}
	s.Add(HashAddr(addr(ExactLimit)))
	if s.Exact() {
		t.Fatal("sketch still exact past the limit")
	}
	if got := s.Count(); math.Abs(float64(got)-float64(ExactLimit+1)) > 0.05*ExactLimit {
		t.Fatalf("estimate just past the limit: %d, want about %d", got, ExactLimit+1)
	}
}

func TestHashAddrUnmaps(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.1")
	m := netip.MustParseAddr("::ffff:192.0.2.1")
	z := netip.MustParseAddr("fe80::1%eth0")
	if HashAddr(a) != HashAddr(m) {
		t.Error("IPv4 and IPv4-mapped addresses hash differently")
	}
	if HashAddr(z) != HashAddr(netip.MustParseAddr("fe80::1")) {
		t.Error("the zone changes the hash")
	}
	if HashAddr(a) == HashAddr(netip.MustParseAddr("192.0.2.2")) {
		t.Error("neighbouring addresses share a hash")
	}
}

// TestError measures the estimate's relative error over many independent
// sets per cardinality; the stated standard error is 1.04/√4096 ≈ 1.6 %.
// The test allows 1.5× that as RMS and a bias of a third of it.
func TestError(t *testing.T) {
	const stated = 1.04 / 64
	cases := []struct {
		n      int
		trials int
	}{
		{300, 200}, {1_000, 200}, {10_000, 100}, {100_000, 40}, {1_000_000, 8},
	}
	if testing.Short() {
		cases = cases[:3]
	}
	for _, c := range cases {
		var sumSq, sum float64
		for tr := range c.trials {
			var s Sketch
			base := uint64(tr) << 40
			for i := range c.n {
				s.Add(mix(base + uint64(i)))
			}
			rel := (float64(s.Count()) - float64(c.n)) / float64(c.n)
			sum += rel
			sumSq += rel * rel
		}
		rms := math.Sqrt(sumSq / float64(c.trials))
		bias := sum / float64(c.trials)
		t.Logf("n=%d: RMS relative error %.2f %%, bias %+.2f %% over %d sets", c.n, 100*rms, 100*bias, c.trials)
		if rms > 1.5*stated {
			t.Errorf("n=%d: RMS relative error %.2f %% above 1.5 × %.2f %%", c.n, 100*rms, 100*stated)
		}
		if math.Abs(bias) > stated/3+3*stated/math.Sqrt(float64(c.trials)) {
			t.Errorf("n=%d: bias %+.2f %%", c.n, 100*bias)
		}
	}
}

// TestMergeIsUnion: merging the sketches of two overlapping sets gives the
// sketch of their union, register for register, in every pair of tiers.
func TestMergeIsUnion(t *testing.T) {
	sizes := []int{10, 200, 5_000}
	for _, na := range sizes {
		for _, nb := range sizes {
			var a, b, u Sketch
			for i := range na {
				a.Add(mix(uint64(i)))
				u.Add(mix(uint64(i)))
			}
			for i := range nb {
				b.Add(mix(uint64(i + na/2)))
				u.Add(mix(uint64(i + na/2)))
			}
			a.Merge(&b)
			if a.Count() != u.Count() || a.Exact() != u.Exact() {
				t.Errorf("%d ∪ %d: merged count %d (exact %v), union %d (exact %v)",
					na, nb, a.Count(), a.Exact(), u.Count(), u.Exact())
			}
			if a.dense && string(a.regs) != string(u.regs) {
				t.Errorf("%d ∪ %d: registers differ from the union's", na, nb)
			}
		}
	}
}

func TestEncodingRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 100, ExactLimit, ExactLimit + 1, 1_000, 100_000} {
		var s Sketch
		for i := range n {
			s.Add(mix(uint64(i) * 7))
		}
		b, err := s.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		var d Sketch
		if err := d.UnmarshalBinary(b); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if d.Count() != s.Count() || d.Exact() != s.Exact() {
			t.Errorf("n=%d: decoded count %d exact %v, want %d exact %v", n, d.Count(), d.Exact(), s.Count(), s.Exact())
		}
		t.Logf("n=%d: %d bytes (form %d)", n, len(b), b[0])
		if len(b) > 2+registers {
			t.Errorf("n=%d: %d bytes, more than the dense form", n, len(b))
		}
		// MergeBinary into a partly filled sketch equals Merge.
		var x, y Sketch
		for i := range 50 {
			x.Add(mix(uint64(i) + 1<<50))
			y.Add(mix(uint64(i) + 1<<50))
		}
		if err := x.MergeBinary(b); err != nil {
			t.Fatal(err)
		}
		y.Merge(&s)
		if x.Count() != y.Count() {
			t.Errorf("n=%d: MergeBinary %d, Merge %d", n, x.Count(), y.Count())
		}
	}
}

func TestMalformed(t *testing.T) {
	var s Sketch
	for i := range 2000 {
		s.Add(mix(uint64(i)))
	}
	sparse, _ := s.AppendBinary(nil)
	dense := append([]byte{formDense, Precision}, make([]byte, registers)...)
	tooHigh := append([]byte{}, dense...)
	tooHigh[2] = q + 2
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"unknown form", []byte{9}, ErrFormat},
		{"exact truncated", []byte{formExact, 2, 5}, ErrFormat},
		{"exact zero gap", []byte{formExact, 2, 5, 0}, ErrFormat},
		{"exact over the limit", []byte{formExact, 0x81, 0x04}, ErrFormat},
		{"exact trailing", []byte{formExact, 1, 5, 7}, ErrFormat},
		{"other precision", []byte{formDense, 14}, ErrPrecision},
		{"dense short", dense[:100], ErrFormat},
		{"register too high", tooHigh, ErrFormat},
		{"sparse truncated", sparse[:len(sparse)-1], ErrFormat},
		{"sparse trailing", append(append([]byte{}, sparse...), 0), ErrFormat},
	}
	for _, c := range cases {
		var d Sketch
		if err := d.UnmarshalBinary(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
	}
}

func TestResetKeepsWorking(t *testing.T) {
	var s Sketch
	r := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		s.Add(r.Uint64())
	}
	s.Reset()
	if s.Count() != 0 || !s.Exact() {
		t.Fatalf("after Reset: count %d exact %v", s.Count(), s.Exact())
	}
	for i := range 3 {
		s.Add(uint64(i + 1))
	}
	if s.Count() != 3 {
		t.Fatalf("count %d after Reset and 3 adds", s.Count())
	}
}
