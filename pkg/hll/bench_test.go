package hll

import "testing"

func BenchmarkAdd(b *testing.B) {
	var s Sketch
	for i := 0; b.Loop(); i++ {
		s.Add(HashAddr(addr(uint64(i) & 0xfffff)))
	}
}

// BenchmarkMergeBinaryDense is one stored dense bucket merged into a range
// total: the unit of a statistics query's cost.
func BenchmarkMergeBinaryDense(b *testing.B) {
	var s, total Sketch
	for i := range 100_000 {
		s.Add(mix(uint64(i)))
	}
	enc, _ := s.AppendBinary(nil)
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if err := total.MergeBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCount(b *testing.B) {
	var s Sketch
	for i := range 100_000 {
		s.Add(mix(uint64(i)))
	}
	for b.Loop() {
		s.Count()
	}
}
