package loghist

import "testing"

// FuzzMergeBinary: no input panics, and whatever decodes re-encodes to a
// histogram with the same count and quantiles.
func FuzzMergeBinary(f *testing.F) {
	for _, v := range [][]float64{nil, {1e-5}, {0, -1e-3, 2e-4, 3}} {
		var h Histogram
		for _, x := range v {
			h.Observe(x)
		}
		b, _ := h.AppendBinary(nil)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Histogram
		if err := h.UnmarshalBinary(b); err != nil {
			return
		}
		e, _ := h.AppendBinary(nil)
		var d Histogram
		if err := d.UnmarshalBinary(e); err != nil {
			t.Fatalf("re-encoded histogram does not decode: %v", err)
		}
		a, _ := h.Quantile(0.5)
		c, _ := d.Quantile(0.5)
		if d.Count() != h.Count() || a != c {
			t.Fatalf("round trip changed count %d→%d or median %v→%v", h.Count(), d.Count(), a, c)
		}
	})
}
