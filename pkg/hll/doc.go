// Package hll counts distinct items — client addresses — in a fixed amount
// of memory, in a form that merges: the count over a range of time is the
// count of the merged sketches of its buckets, never a sum of per-bucket
// counts (a client polling every minute is one client in an hour, not 60).
//
// # Two tiers
//
// A Sketch starts exact: it keeps the 64-bit hashes of what was added, up to
// ExactLimit of them, and its count is exact (two distinct addresses share a
// hash with a probability near 2^-64). Past that it turns into a
// HyperLogLog of 2^Precision one-byte registers whose estimate has a relative
// standard error of 1.04/√(2^Precision) ≈ 1.6 %. A small server's buckets
// stay exact; a public server's become estimates, which is what they can
// afford to be.
//
// The estimate is Ertl's improved raw estimator ("New cardinality
// estimation algorithms for HyperLogLog sketches", 2017), which needs no
// bias tables or linear-counting switch and stays unbiased from tens to
// billions of items.
//
// # Use
//
//	var s hll.Sketch
//	s.Add(hll.HashAddr(addr))   // for every session
//	b, _ := s.AppendBinary(nil) // stored in a series bucket
//
//	var total hll.Sketch        // over a range of buckets
//	for _, b := range blobs {
//		if err := total.MergeBinary(b); err != nil { … }
//	}
//	n := total.Count()
//
// The encoding is stable: it is what the store keeps. It is the exact
// hashes, the non-zero registers, or every register, whichever is smallest.
//
// A Sketch is not safe for concurrent use.
package hll
