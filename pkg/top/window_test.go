package top

import (
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	type obs struct {
		after time.Duration
		total int64
	}
	tests := []struct {
		name  string
		obs   []obs
		rate  float64
		known bool
	}{
		{"no sample", nil, 0, false},
		{"one sample", []obs{{0, 100}}, 0, false},
		{"two samples", []obs{{0, 100}, {10 * time.Second, 150}}, 5, true},
		{"the same statistics served again are not a sample", []obs{{0, 100}, {10 * time.Second, 150}, {10 * time.Second, 150}}, 5, true},
		{"an older sample is ignored", []obs{{0, 100}, {10 * time.Second, 150}, {5 * time.Second, 120}}, 5, true},
		{"the rate spans the two latest", []obs{{0, 100}, {10 * time.Second, 150}, {12 * time.Second, 170}}, 10, true},
		{"no change", []obs{{0, 100}, {2 * time.Second, 100}}, 0, true},
		{"a total that went backwards was reset: unknown", []obs{{0, 100}, {10 * time.Second, 3}}, 0, false},
		{"known again after the reset", []obs{{0, 100}, {10 * time.Second, 3}, {20 * time.Second, 23}}, 2, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w window
			for _, o := range tc.obs {
				w.observe(t0.Add(o.after), o.total)
			}
			r, ok := w.rate(0)
			if ok != tc.known || (ok && r != tc.rate) {
				t.Errorf("rate %v (known %v), want %v (known %v)", r, ok, tc.rate, tc.known)
			}
		})
	}
}

func TestSum(t *testing.T) {
	var s sum
	if s.ptr() != nil {
		t.Error("an empty sum is known")
	}
	s.add(2, false)
	if s.ptr() != nil {
		t.Error("a sum of unknowns is known")
	}
	s.add(3, true)
	s.add(4, true)
	s.add(100, false)
	if p := s.ptr(); p == nil || *p != 7 {
		t.Errorf("sum %v, want 7 (the known parts)", p)
	}
}
