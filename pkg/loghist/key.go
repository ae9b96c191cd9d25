package loghist

import (
	"cmp"
	"math"
	"slices"
)

// Keys: a value's bucket as one integer, for counts that must also go
// down. A Histogram only adds; the store keeps how many clients' means
// fall in each bucket, and a client whose mean moves leaves its old
// bucket for its new one.
//
// Key orders like the values: the zero bucket is 0, a positive bucket i is
// i − minIndex + 1, a negative one the negation of its magnitude's key.

// Key is v's bucket. +Inf counts in the last bucket, −Inf in the last
// negative one, and NaN in the zero bucket, so that the same value always
// has the same key.
func Key(v float64) int {
	switch {
	case math.IsNaN(v):
		return 0
	case math.IsInf(v, 1):
		return maxIndex - minIndex + 1
	case math.IsInf(v, -1):
		return -(maxIndex - minIndex + 1)
	case v >= ZeroThreshold:
		return index(v) - minIndex + 1
	case v <= -ZeroThreshold:
		return -(index(-v) - minIndex + 1)
	}
	return 0
}

// KeyValue is the value reported for key k: its bucket's geometric
// midpoint, within RelativeError of every value in the bucket.
func KeyValue(k int) float64 {
	switch {
	case k > 0:
		return bucketValue(k - 1 + minIndex)
	case k < 0:
		return -bucketValue(-k - 1 + minIndex)
	}
	return 0
}

// KeyCount is how many values a key counts.
type KeyCount struct {
	Key int
	N   int64
}

// KeyQuantiles returns the nearest-rank q-quantile of the values counted
// by keys, for each q of qs (each 0 < q ≤ 1), within RelativeError of the
// exact one; ok is false when they count nothing. keys is sorted in place.
func KeyQuantiles(keys []KeyCount, qs ...float64) (v []float64, ok bool) {
	var total int64
	for _, k := range keys {
		total += k.N
	}
	if total <= 0 {
		return nil, false
	}
	slices.SortFunc(keys, func(a, b KeyCount) int { return cmp.Compare(a.Key, b.Key) })
	v = make([]float64, len(qs))
	for i, q := range qs {
		rank := max(1, min(int64(math.Ceil(q*float64(total))), total))
		var seen int64
		for _, k := range keys {
			if seen += k.N; seen >= rank {
				v[i] = KeyValue(k.Key)
				break
			}
		}
	}
	return v, true
}
