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
	pos, neg []uint64 // by index − minIndex; allocated on first use
	zero     uint64
	count    uint64
	sum      float64
	min, max float64

	scratch []bucketCount // MergeBinary's decoded buckets, kept for reuse
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
		h.side(&h.pos)[index(v)-minIndex]++
	case v <= -ZeroThreshold:
		h.side(&h.neg)[index(-v)-minIndex]++
	default:
		h.zero++
	}
}

func (h *Histogram) side(s *[]uint64) []uint64 {
	if *s == nil {
		*s = make([]uint64, buckets)
	}
	return *s
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
	clear(h.pos)
	clear(h.neg)
	h.zero, h.count, h.sum, h.min, h.max = 0, 0, 0, 0, 0
}

// Merge adds every observation of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.count == 0 {
		return
	}
	h.mergeStats(o.count, o.sum, o.min, o.max)
	h.zero += o.zero
	if o.pos != nil {
		p := h.side(&h.pos)
		for i, n := range o.pos {
			p[i] += n
		}
	}
	if o.neg != nil {
		p := h.side(&h.neg)
		for i, n := range o.neg {
			p[i] += n
		}
	}
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
	for i := len(h.neg) - 1; i >= 0; i-- {
		if seen += h.neg[i]; seen >= rank {
			return clamp(-bucketValue(i + minIndex))
		}
	}
	if seen += h.zero; seen >= rank {
		return clamp(0)
	}
	for i, n := range h.pos {
		if seen += n; seen >= rank {
			return clamp(bucketValue(i + minIndex))
		}
	}
	return h.max, true // not reached: the buckets hold count values
}
