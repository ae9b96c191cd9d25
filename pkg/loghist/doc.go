// Package loghist is a histogram of timings in fixed log-scale buckets,
// from which any percentile over any merged range is read within a stated
// relative error. The traffic series keeps one per interface and bucket of
// time for server processing (T3−T2), wire time (C2−C1) and client latency
// (T2−T1).
//
// # Buckets
//
// The scheme is Prometheus's native-histogram schema 5: bucket i holds the
// values in (2^((i−1)/32), 2^(i/32)], so each bucket is 2.2 % wide and the
// value reported for it, the bucket's geometric midpoint, is within
// 2^(1/64) − 1 ≈ 1.09 % of every value in it. Negative values (a client
// whose clock is ahead) have buckets of their own, mirrored; values whose
// magnitude is below ZeroThreshold share one zero bucket. Count, sum, min and
// max are kept exactly beside the buckets.
//
// Why this scheme (TestSchemeComparison measures it on 100,000 log-normal
// processing times): it used 411 buckets with a worst percentile error of
// 1.04 %; DDSketch with α = 1 % used 447 buckets for 0.93 %; an HDR
// histogram of two significant digits 1,495 buckets for 0.38 %, more
// precision than the 2 % asked for at 3.6 times the size. Schema 5 is also
// the one Prometheus speaks, so /metrics can share its boundaries. A minute
// bucket of 5,000 sessions encodes in about 450–700 bytes.
//
// # Percentiles
//
// Quantile uses the nearest-rank definition: the smallest value with at
// least a fraction q of the values at or below it. The rank is exact, so the
// estimate lies in the same bucket as the exact percentile and is within
// 1.09 % of it (clamped to the exact min and max, which only brings it
// closer; the 0- and 1-quantiles are the exact min and max).
//
// # Use
//
//	var h loghist.Histogram
//	h.Observe(0.000042)              // seconds, for every session
//	b, _ := h.AppendBinary(nil)      // stored in a series bucket
//
//	var total loghist.Histogram      // over a range of buckets
//	for _, b := range blobs {
//		if err := total.MergeBinary(b); err != nil { … }
//	}
//	p99, ok := total.Quantile(0.99)
//
// The encoding lists only the buckets in use and is stable: it is what
// the store keeps. A Histogram is not safe for concurrent use.
package loghist
