package loghist

import (
	"math"
)

const (
	// Schema is the Prometheus native-histogram schema: 2^Schema buckets
	// per power of two.
	Schema = 5
	// ZeroThreshold: values of smaller magnitude, in seconds, count as
	// zero. Capture and NTP timestamps do not resolve below a nanosecond.
	ZeroThreshold = 1e-9

	perOctave = 1 << Schema
	// The buckets span ZeroThreshold to 2^12.5 s (about 1.6 h): no metric
	// the worker reports is larger (latency is refused beyond an hour). A
	// larger value is counted in the last bucket; min and max stay exact.
	minIndex = -957 // ceil(log2(1e-9) × 32)
	maxIndex = 400
	buckets  = maxIndex - minIndex + 1

	// RelativeError bounds how far a percentile read from a histogram is
	// from the exact one, for values inside the buckets' span.
	RelativeError = 0.0109 // 2^(1/64) − 1
)

// Histogram counts observations in log-scale buckets. The zero value is
// empty and ready to use.
type Histogram struct {
	pos, neg side
	zero     uint64
	count    uint64
	sum      float64
	min, max float64

	scratch []bucketCount // MergeBinary's decoded buckets, kept for reuse
}

// side holds one sign's bucket counts over the window of buckets in use,
// not all 1,358 of them: a timing spans a few hundred at most (20 µs to
// 10 ms is 287), so a histogram read from a stored bucket allocates, merges
// and scans that window only. Indexes are bucket index − minIndex.
type side struct {
	off int      // index of c[0]
	c   []uint64 // counts of off, off+1, …; nil until first use
}

// cover widens the window to hold indexes lo to hi (inclusive), with
// slack so that a histogram which keeps growing copies its counts only a
// few times.
func (s *side) cover(lo, hi int) {
	if len(s.c) > 0 {
		if lo >= s.off && hi < s.off+len(s.c) {
			return
		}
		lo, hi = min(lo, s.off), max(hi, s.off+len(s.c)-1)
	}
	slack := max(16, len(s.c)/2)
	lo, hi = max(0, lo-slack), min(buckets-1, hi+slack)
	c := make([]uint64, hi-lo+1)
	if len(s.c) > 0 {
		copy(c[s.off-lo:], s.c)
	}
	s.off, s.c = lo, c
}

func (s *side) add(i int, n uint64) {
	s.cover(i, i)
	s.c[i-s.off] += n
}

// merge adds o's counts.
func (s *side) merge(o *side) {
	if len(o.c) == 0 {
		return
	}
	s.cover(o.off, o.off+len(o.c)-1)
	dst := s.c[o.off-s.off:]
	for j, n := range o.c {
		dst[j] += n
	}
}

// index is the bucket of a magnitude at or above ZeroThreshold.
func index(v float64) int {
	i := int(math.Ceil(math.Log2(v) * perOctave))
	return min(max(i, minIndex), maxIndex)
}

// bucketValue is the value reported for bucket i: its geometric midpoint.
func bucketValue(i int) float64 {
	return math.Exp2((float64(i) - 0.5) / perOctave)
}

// Observe counts v. NaN and infinities are ignored: the wire decoder refuses
// them, and one would turn the sum into NaN for good.
func (h *Histogram) Observe(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if h.count == 0 || v < h.min {
		h.min = v
	}
	if h.count == 0 || v > h.max {
		h.max = v
	}
	h.count++
	h.sum += v
	switch {
	case v >= ZeroThreshold:
		h.pos.add(index(v)-minIndex, 1)
	case v <= -ZeroThreshold:
		h.neg.add(index(-v)-minIndex, 1)
	default:
		h.zero++
	}
}

// Count is the number of observations.
func (h *Histogram) Count() uint64 { return h.count }

// Sum is the sum of the observations.
func (h *Histogram) Sum() float64 { return h.sum }

// Min is the smallest observation; ok is false when there is none.
func (h *Histogram) Min() (v float64, ok bool) { return h.min, h.count > 0 }

// Max is the largest observation; ok is false when there is none.
func (h *Histogram) Max() (v float64, ok bool) { return h.max, h.count > 0 }

// Reset empties the histogram, keeping its memory.
func (h *Histogram) Reset() {
	clear(h.pos.c)
	clear(h.neg.c)
	h.zero, h.count, h.sum, h.min, h.max = 0, 0, 0, 0, 0
}

// Merge adds every observation of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.count == 0 {
		return
	}
	h.mergeStats(o.count, o.sum, o.min, o.max)
	h.zero += o.zero
	h.pos.merge(&o.pos)
	h.neg.merge(&o.neg)
}

func (h *Histogram) mergeStats(count uint64, sum, lo, hi float64) {
	if h.count == 0 || lo < h.min {
		h.min = lo
	}
	if h.count == 0 || hi > h.max {
		h.max = hi
	}
	h.count += count
	h.sum += sum
}

// Quantile is the nearest-rank q-quantile (0 < q ≤ 1), within RelativeError
// of the exact one; ok is false for an empty histogram or q out of range.
func (h *Histogram) Quantile(q float64) (v float64, ok bool) {
	if h.count == 0 || !(q > 0 && q <= 1) {
		return 0, false
	}
	rank := uint64(math.Ceil(q * float64(h.count)))
	rank = max(1, min(rank, h.count))
	// The extremes are kept exactly.
	if rank == h.count {
		return h.max, true
	}
	if rank == 1 {
		return h.min, true
	}
	clamp := func(v float64) (float64, bool) { return min(max(v, h.min), h.max), true }
	var seen uint64
	// Negative values first, the largest magnitude (the smallest value)
	// first.
	for j := len(h.neg.c) - 1; j >= 0; j-- {
		if seen += h.neg.c[j]; seen >= rank {
			return clamp(-bucketValue(h.neg.off + j + minIndex))
		}
	}
	if seen += h.zero; seen >= rank {
		return clamp(0)
	}
	for j, n := range h.pos.c {
		if seen += n; seen >= rank {
			return clamp(bucketValue(h.pos.off + j + minIndex))
		}
	}
	return h.max, true // not reached: the buckets hold count values
}
