package loghist

import "iter"

// The buckets as Prometheus numbers them, for exporters: bucket i of either
// side holds the magnitudes in (2^((i−1)/32), 2^(i/32)], index 0 ending at
// 1, exactly the native-histogram buckets of schema 5. Because every
// power of two (and every 2^(k/32)) is a bucket boundary, the count at or
// below such a value is exact, and a classic histogram whose bounds are
// powers of two is read from the same buckets without any estimate.

// ZeroCount is the number of observations of magnitude below
// ZeroThreshold.
func (h *Histogram) ZeroCount() uint64 { return h.zero }

// PositiveBuckets yields the index and count of every non-empty bucket of
// positive values, in index order.
func (h *Histogram) PositiveBuckets() iter.Seq2[int, uint64] { return sideBuckets(h.pos) }

// NegativeBuckets yields the index and count of every non-empty bucket of
// negative values (by magnitude: index 0 ends at −1), in index order.
func (h *Histogram) NegativeBuckets() iter.Seq2[int, uint64] { return sideBuckets(h.neg) }

func sideBuckets(s side) iter.Seq2[int, uint64] {
	return func(yield func(int, uint64) bool) {
		for i, n := range s.c {
			if n != 0 && !yield(s.off+i+minIndex, n) {
				return
			}
		}
	}
}

// CountAtMost is the number of observations at or below 2^(index/32):
// every negative value, the zero bucket and the positive buckets up to
// index. It is exact for index below the last bucket (2^12.5 s), which
// also holds the larger values.
func (h *Histogram) CountAtMost(index int) uint64 {
	n := h.zero
	for _, c := range h.neg.c {
		n += c
	}
	for i, c := range h.pos.c {
		if h.pos.off+i+minIndex > index {
			break
		}
		n += c
	}
	return n
}
