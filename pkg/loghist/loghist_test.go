package loghist

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// exactQuantile is the nearest-rank quantile of sorted v.
func exactQuantile(v []float64, q float64) float64 {
	k := int(math.Ceil(q*float64(len(v)))) - 1
	return v[max(0, min(k, len(v)-1))]
}

// samples are the distributions the issue names: server processing is
// log-normal (a mode of tens of microseconds and a long tail), wire time on
// a loaded server is bimodal, latency T2−T1 straddles zero.
func samples(seed uint64, n int) map[string][]float64 {
	r := rand.New(rand.NewPCG(seed, 7))
	out := map[string][]float64{}
	for range n {
		out["lognormal"] = append(out["lognormal"], math.Exp(math.Log(40e-6)+1.2*r.NormFloat64()))
		if r.IntN(10) < 7 {
			out["bimodal"] = append(out["bimodal"], 30e-6*math.Exp(0.3*r.NormFloat64()))
		} else {
			out["bimodal"] = append(out["bimodal"], 5e-3*math.Exp(0.5*r.NormFloat64()))
		}
		out["signed"] = append(out["signed"], 0.002*r.NormFloat64())
	}
	return out
}

var quantiles = []float64{0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1}

func TestQuantileWithinStatedError(t *testing.T) {
	for name, v := range samples(1, 200_000) {
		var h Histogram
		for _, x := range v {
			h.Observe(x)
		}
		sorted := slices.Sorted(slices.Values(v))
		worst := 0.0
		for _, q := range quantiles {
			got, ok := h.Quantile(q)
			want := exactQuantile(sorted, q)
			if !ok {
				t.Fatalf("%s: no q%v", name, q)
			}
			rel := math.Abs(got-want) / math.Abs(want)
			worst = max(worst, rel)
			if rel > RelativeError {
				t.Errorf("%s q%v: %.6g, exact %.6g: %.3f %% off", name, q, got, want, 100*rel)
			}
		}
		t.Logf("%s: worst relative error %.3f %% (stated %.2f %%)", name, 100*worst, 100*RelativeError)
	}
}

// TestMergedQuantiles: a histogram merged from 60 minute buckets answers
// like one that saw every value, and so within the error of the exact
// quantile over all of them.
func TestMergedQuantiles(t *testing.T) {
	var whole, merged Histogram
	var all []float64
	for m := range 60 {
		var minute Histogram
		for _, x := range samples(uint64(m), 2000)["bimodal"] {
			minute.Observe(x)
			whole.Observe(x)
			all = append(all, x)
		}
		b, _ := minute.AppendBinary(nil)
		if err := merged.MergeBinary(b); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(all)
	for _, q := range quantiles {
		a, _ := whole.Quantile(q)
		b, _ := merged.Quantile(q)
		if a != b {
			t.Errorf("q%v: merged %.6g, whole %.6g", q, b, a)
		}
		if want := exactQuantile(all, q); math.Abs(b-want)/want > RelativeError {
			t.Errorf("q%v: merged %.6g, exact %.6g", q, b, want)
		}
	}
	if merged.Count() != uint64(len(all)) || merged.Count() != whole.Count() {
		t.Errorf("count %d, want %d", merged.Count(), len(all))
	}
	if math.Abs(merged.Sum()-whole.Sum()) > 1e-9*math.Abs(whole.Sum()) {
		t.Errorf("sum %v, want %v", merged.Sum(), whole.Sum())
	}
	lo, _ := merged.Min()
	hi, _ := merged.Max()
	if lo != all[0] || hi != all[len(all)-1] {
		t.Errorf("min/max %v/%v, want %v/%v", lo, hi, all[0], all[len(all)-1])
	}
}

func TestEdges(t *testing.T) {
	var h Histogram
	if _, ok := h.Quantile(0.5); ok {
		t.Error("empty histogram has a median")
	}
	for _, v := range []float64{0, 0, 1e-12, math.NaN(), math.Inf(1), 7200} {
		h.Observe(v)
	}
	if h.Count() != 4 {
		t.Errorf("count %d: NaN and Inf must be ignored", h.Count())
	}
	if v, _ := h.Quantile(0.5); v != 0 {
		t.Errorf("median %v of three zeros and one large value", v)
	}
	if v, _ := h.Quantile(1); v != 7200 {
		t.Errorf("max quantile %v, want the exact max 7200 (beyond the buckets)", v)
	}
	for _, q := range []float64{0, -1, 1.5, math.NaN()} {
		if _, ok := h.Quantile(q); ok {
			t.Errorf("q=%v accepted", q)
		}
	}
}

func TestEncodingRoundTrip(t *testing.T) {
	for name, v := range samples(3, 5000) {
		for _, n := range []int{0, 1, 10, 5000} {
			var h Histogram
			for _, x := range v[:n] {
				h.Observe(x)
			}
			b, err := h.AppendBinary(nil)
			if err != nil {
				t.Fatal(err)
			}
			var d Histogram
			if err := d.UnmarshalBinary(b); err != nil {
				t.Fatalf("%s n=%d: %v", name, n, err)
			}
			if d.Count() != h.Count() || d.Sum() != h.Sum() {
				t.Errorf("%s n=%d: count/sum %d/%v, want %d/%v", name, n, d.Count(), d.Sum(), h.Count(), h.Sum())
			}
			for _, q := range quantiles {
				a, _ := h.Quantile(q)
				c, _ := d.Quantile(q)
				if a != c {
					t.Errorf("%s n=%d q%v: %v after a round trip, %v before", name, n, q, c, a)
				}
			}
			if n == 5000 {
				t.Logf("%s, %d values: %d bytes", name, n, len(b))
			}
		}
	}
}

func TestMalformed(t *testing.T) {
	var h Histogram
	for _, x := range []float64{1e-5, 2e-5, 1e-3, -1e-4, 0} {
		h.Observe(x)
	}
	good, _ := h.AppendBinary(nil)
	corrupt := func(i int, v byte) []byte { b := slices.Clone(good); b[i] = v; return b }
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"version", corrupt(0, 9), ErrFormat},
		{"schema", corrupt(1, 3), ErrSchema},
		{"count off", corrupt(2, 6), ErrFormat},
		{"truncated", good[:len(good)-1], ErrFormat},
		{"trailing", append(slices.Clone(good), 0), ErrFormat},
		{"no stats", good[:10], ErrFormat},
	}
	for _, c := range cases {
		before := h
		if err := h.MergeBinary(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
		if h.Count() != before.Count() || h.Sum() != before.Sum() {
			t.Errorf("%s: a malformed buffer changed the histogram", c.name)
		}
	}
}

// TestSchemeComparison measures, on the same samples, the buckets in use
// and the worst percentile error of this scheme against DDSketch (α = 1 %)
// and an HDR histogram of two significant digits — the evidence behind the
// choice stated in doc.go.
func TestSchemeComparison(t *testing.T) {
	schemes := []struct {
		name  string
		index func(v float64) int64
		value func(i int64) float64
	}{
		{"native schema 5",
			func(v float64) int64 { return int64(index(v)) },
			func(i int64) float64 { return bucketValue(int(i)) }},
		{"DDSketch α=1%",
			func(v float64) int64 { return int64(math.Ceil(math.Log(v) / math.Log(1.01/0.99))) },
			func(i int64) float64 { return 2 * math.Pow(1.01/0.99, float64(i)) / (1 + 1.01/0.99) }},
		{"HDR 2 digits",
			func(v float64) int64 {
				e := math.Floor(math.Log2(v))
				return int64(e)*128 + int64((v/math.Exp2(e)-1)*128)
			},
			func(i int64) float64 {
				e := math.Floor(float64(i) / 128)
				return math.Exp2(e) * (1 + (float64(i-int64(e)*128)+0.5)/128)
			}},
	}
	for name, v := range samples(5, 100_000) {
		if name == "signed" {
			continue
		}
		sorted := slices.Sorted(slices.Values(v))
		for _, s := range schemes {
			counts := map[int64]int{}
			for _, x := range v {
				counts[s.index(x)]++
			}
			keys := slices.Sorted(func(yield func(int64) bool) {
				for k := range counts {
					if !yield(k) {
						return
					}
				}
			})
			worst := 0.0
			for _, q := range quantiles {
				rank, seen := int(math.Ceil(q*float64(len(v)))), 0
				for _, k := range keys {
					if seen += counts[k]; seen >= rank {
						want := exactQuantile(sorted, q)
						worst = max(worst, math.Abs(s.value(k)-want)/want)
						break
					}
				}
			}
			t.Logf("%-9s %-16s %4d buckets in use, worst percentile error %.2f %%", name, s.name, len(keys), 100*worst)
		}
	}
}
