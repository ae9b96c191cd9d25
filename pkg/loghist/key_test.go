package loghist

import (
	"math"
	"slices"
	"testing"
)

// Keys order like their values, every value is within RelativeError of its
// key's value, and the quantiles of key counts are within it of the exact
// ones, for the distributions the histogram is held to.
func TestKeys(t *testing.T) {
	for name, v := range samples(3, 50_000) {
		counts := map[int]int64{}
		for _, x := range v {
			k := Key(x)
			if got := KeyValue(k); math.Abs(got-x) > RelativeError*math.Abs(x)+ZeroThreshold {
				t.Fatalf("%s: %v has key %d of value %v", name, x, k, got)
			}
			counts[k]++
		}
		sorted := slices.Sorted(slices.Values(v))
		for i := 1; i < len(sorted); i++ {
			if Key(sorted[i-1]) > Key(sorted[i]) {
				t.Fatalf("%s: key of %v above key of %v", name, sorted[i-1], sorted[i])
			}
		}
		var keys []KeyCount
		for k, n := range counts {
			keys = append(keys, KeyCount{k, n})
		}
		got, ok := KeyQuantiles(keys, quantiles...)
		if !ok {
			t.Fatalf("%s: no quantiles", name)
		}
		for i, q := range quantiles {
			want := exactQuantile(sorted, q)
			if math.Abs(got[i]-want) > RelativeError*math.Abs(want)+ZeroThreshold {
				t.Errorf("%s: q%v = %v, exact %v", name, q, got[i], want)
			}
		}
	}
}

func TestKeyEdges(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want int
	}{
		{0, 0}, {ZeroThreshold / 2, 0}, {-ZeroThreshold / 2, 0}, {math.NaN(), 0},
		{math.Inf(1), maxIndex - minIndex + 1}, {math.MaxFloat64, maxIndex - minIndex + 1},
		{math.Inf(-1), -(maxIndex - minIndex + 1)}, {1, -minIndex + 1}, {-1, minIndex - 1},
	} {
		if got := Key(tc.v); got != tc.want {
			t.Errorf("Key(%v) = %d, want %d", tc.v, got, tc.want)
		}
	}
	if _, ok := KeyQuantiles(nil, 0.5); ok {
		t.Error("quantiles of nothing")
	}
	if _, ok := KeyQuantiles([]KeyCount{{5, 1}, {6, -1}}, 0.5); ok {
		t.Error("quantiles of counts that add to nothing")
	}
}
