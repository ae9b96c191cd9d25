package hll

import "testing"

// FuzzMergeBinary: no input panics, and whatever decodes re-encodes to a
// sketch with the same count.
func FuzzMergeBinary(f *testing.F) {
	for _, n := range []int{0, 3, 300, 3000} {
		var s Sketch
		for i := range n {
			s.Add(mix(uint64(i)))
		}
		b, _ := s.AppendBinary(nil)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Sketch
		if err := s.UnmarshalBinary(b); err != nil {
			return
		}
		e, err := s.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		var d Sketch
		if err := d.UnmarshalBinary(e); err != nil {
			t.Fatalf("re-encoded sketch does not decode: %v", err)
		}
		if d.Count() != s.Count() {
			t.Fatalf("count %d after a round trip, %d before", d.Count(), s.Count())
		}
	})
}
