package loghist

import "testing"

func BenchmarkObserve(b *testing.B) {
	v := samples(1, 4096)["lognormal"]
	var h Histogram
	for i := 0; b.Loop(); i++ {
		h.Observe(v[i&4095])
	}
}

// BenchmarkMergeBinary is one stored minute bucket (1,000 sessions) merged
// into a range total: the unit of a series query's cost.
func BenchmarkMergeBinary(b *testing.B) {
	var h, total Histogram
	for _, x := range samples(2, 1000)["bimodal"] {
		h.Observe(x)
	}
	enc, _ := h.AppendBinary(nil)
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if err := total.MergeBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQuantile(b *testing.B) {
	var h Histogram
	for _, x := range samples(2, 10000)["bimodal"] {
		h.Observe(x)
	}
	for b.Loop() {
		h.Quantile(0.99)
	}
}
