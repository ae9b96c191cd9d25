package loghist

import (
	"math"
	"testing"
)

// The count at or below every power of two from 2^-20 to 2^4 s equals an
// exact count of the samples, and the buckets yielded add up to the count,
// each value in the bucket its index names: what /metrics exports as
// classic and native histograms is the data itself, not an estimate.
func TestBucketsAndCountAtMost(t *testing.T) {
	for name, v := range samples(5, 20000) {
		var h Histogram
		for _, x := range v {
			h.Observe(x)
		}
		// Values exactly on a boundary belong to the bucket below it.
		for _, x := range []float64{0x1p-10, 0x1p-3, 1, 0.5, -0x1p-7} {
			h.Observe(x)
			v = append(v, x)
		}
		for k := -20; k <= 4; k++ {
			le := math.Exp2(float64(k))
			var want uint64
			for _, x := range v {
				if x <= le {
					want++
				}
			}
			if got := h.CountAtMost(32 * k); got != want {
				t.Errorf("%s: count at or below 2^%d = %d, want %d", name, k, got, want)
			}
		}
		total := h.ZeroCount()
		for _, side := range []struct {
			sign    float64
			buckets func(yield func(int, uint64) bool)
		}{{1, h.PositiveBuckets()}, {-1, h.NegativeBuckets()}} {
			last := math.MinInt
			for i, n := range side.buckets {
				if i <= last || n == 0 {
					t.Errorf("%s: bucket %d (count %d) after %d: want ascending non-empty buckets", name, i, n, last)
				}
				last = i
				lo, hi := math.Exp2(float64(i-1)/32), math.Exp2(float64(i)/32)
				var want uint64
				for _, x := range v {
					if m := x * side.sign; m > lo && m <= hi && math.Abs(x) >= ZeroThreshold {
						want++
					}
				}
				if n != want {
					t.Errorf("%s: bucket %d of sign %v holds %d, want %d in (%g, %g]", name, i, side.sign, n, want, lo, hi)
				}
				total += n
			}
		}
		if total != h.Count() {
			t.Errorf("%s: buckets hold %d, count %d", name, total, h.Count())
		}
	}
}
