package wire

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/ntp-monitor/ntp-monitor/pkg/ntp"
)

// checkNumber fails unless appendNumber(v) is a JSON number that parses back
// to v bit for bit, and returns it.
func checkNumber(t *testing.T, v float64) string {
	t.Helper()
	got := string(appendNumber(nil, v))
	if !json.Valid([]byte(got)) {
		t.Fatalf("appendNumber(%v) = %q: not a JSON number", v, got)
	}
	back, err := strconv.ParseFloat(got, 64)
	if err != nil {
		t.Fatalf("appendNumber(%v) = %q: %v", v, got, err)
	}
	if math.Float64bits(back) != math.Float64bits(v) {
		t.Fatalf("appendNumber(%v) = %q, which parses as %v (bits %#x, want %#x)",
			v, got, back, math.Float64bits(back), math.Float64bits(v))
	}
	return got
}

// significant counts the significant digits of a decimal number.
func significant(s string) int {
	n, started := 0, false
	for _, c := range s {
		switch {
		case c >= '1' && c <= '9':
			started = true
			n++
		case c == '0' && started:
			n++
		}
	}
	// Trailing zeros of the integer part are not significant either, but
	// the numbers checked here have none that matter.
	return n
}

func TestAppendNumber(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "-0"},
		{1, "1"},
		{-3, "-3"},
		{0.5, "0.5"},
		{-0.25, "-0.25"},
		{1764093101.25, "1764093101.25"},
		{0.000457763671875, "0.000457763671875"}, // 30/2^16: root dispersion
		{1.0 / 65536, "0.0000152587890625"},      // exact: 16 digits
		{0.00021, "0.00021"},                     // a whole number of nanoseconds
		{1e-9, "0.000000001"},
		{-0.000150001, "-0.000150001"},
		{1 << 53, "9007199254740992"},
		{1e300, strconv.FormatFloat(1e300, 'f', -1, 64)}, // beyond the fast routes
		{5e-324, strconv.FormatFloat(5e-324, 'f', -1, 64)},
	}
	for _, tt := range tests {
		if got := checkNumber(t, tt.v); got != tt.want {
			t.Errorf("appendNumber(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

// TestAppendNumberValues checks, on random values of every kind a worker
// writes, that each survives the round trip bit for bit and that the exact
// decimal routes stay within the 19 significant digits that ParseFloat
// reads on its fast path.
func TestAppendNumberValues(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	kinds := []struct {
		name     string
		gen      func() float64
		maxDigit int // 0: no bound (strconv's route)
	}{
		// ntp.Time.Unix() of timestamps from 1968 to 2104.
		{"timestamp", func() float64 { return ntp.Time(r.Uint64()).Unix() }, 18},
		// Present-day timestamps, with the fraction's low bits set.
		{"timestamp now", func() float64 { return ntp.Time(uint64(3_973_000_000+r.IntN(1e6))<<32 | r.Uint64()>>32).Unix() }, 18},
		// T2−T1 and T3−T2: differences of NTP timestamps (ntp.Sub).
		{"ntp difference", func() float64 {
			a := ntp.Time(r.Uint64())
			return ntp.Sub(a, a-ntp.Time(r.Int64N(1<<(10+r.IntN(40)))))
		}, 18},
		{"negative ntp difference", func() float64 { return ntp.Sub(0, ntp.Time(r.Int64N(1<<40))) }, 18},
		// Root delay and dispersion: NTP short format.
		{"short format", func() float64 { return ntp.ShortSeconds(r.Uint32()) }, 18},
		// C2−C1: nanoseconds / 1e9.
		{"capture difference", func() float64 { return float64(r.Int64N(1e12)) / 1e9 }, 0},
		{"small capture difference", func() float64 { return float64(r.Int64N(1e6)) / 1e9 }, 0},
		// Anything at all.
		{"any bits", func() float64 {
			for {
				if v := math.Float64frombits(r.Uint64()); !math.IsNaN(v) && !math.IsInf(v, 0) {
					return v
				}
			}
		}, 0},
		{"any fraction", func() float64 { return r.Float64() * math.Pow(10, float64(r.IntN(30)-15)) }, 0},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			for range 200_000 {
				v := k.gen()
				got := checkNumber(t, v)
				if k.maxDigit > 0 && significant(got) > k.maxDigit {
					t.Fatalf("appendNumber(%v) = %q: %d significant digits, want at most %d", v, got, significant(got), k.maxDigit)
				}
			}
		})
	}
}

func FuzzAppendNumber(f *testing.F) {
	for _, v := range []float64{0, 1, -1.5, 1764093101.25, 0.000125, 1e-9, 1e300, 5e-324, 0.1} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, u uint64) {
		v := math.Float64frombits(u)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		checkNumber(t, v)
	})
}

func BenchmarkAppendNumber(b *testing.B) {
	a := ntp.Time(3_973_081_902<<32 | 0x8000_2000)
	values := []struct {
		name string
		v    float64
	}{
		{"timestamp", a.Unix()},
		{"ntp difference", ntp.Sub(a, a-536_871)},
		{"short format", ntp.ShortSeconds(806)},
		{"capture difference", float64(150_000) / 1e9},
	}
	for _, bc := range values {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 0, 64)
			b.ReportAllocs()
			for b.Loop() {
				buf = appendNumber(buf[:0], bc.v)
			}
		})
		b.Run(bc.name+"/strconv", func(b *testing.B) {
			buf := make([]byte, 0, 64)
			b.ReportAllocs()
			for b.Loop() {
				buf = strconv.AppendFloat(buf[:0], bc.v, 'f', -1, 64)
			}
		})
	}
}

func TestAppendDecimal(t *testing.T) {
	check := func(v uint64) {
		t.Helper()
		if got, want := string(appendDecimal(nil, v)), strconv.FormatUint(v, 10); got != want {
			t.Fatalf("appendDecimal(%d) = %q, want %q", v, got, want)
		}
	}
	check(math.MaxUint64)
	for p := uint64(1); p <= 1e19; p *= 10 {
		check(p - 1)
		check(p)
		check(p + 1)
		if p == 1e19 {
			break
		}
	}
	r := rand.New(rand.NewPCG(13, 14))
	for range 100_000 {
		check(r.Uint64() >> r.IntN(64))
	}
	for _, tt := range []struct {
		q    uint64
		n    int
		want string
	}{{0, 9, ""}, {5, 1, ".5"}, {500, 9, ".0000005"}, {123456789, 9, ".123456789"}, {10, 3, ".01"}} {
		if got := string(appendFraction(nil, tt.q, tt.n)); got != tt.want {
			t.Errorf("appendFraction(%d, %d) = %q, want %q", tt.q, tt.n, got, tt.want)
		}
	}
}
