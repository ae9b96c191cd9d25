package store

import (
	"testing"
)

func TestNearestRank(t *testing.T) {
	tests := []struct {
		v        []float64
		p50, p95 float64
	}{
		{[]float64{7}, 7, 7},
		{[]float64{1, 2}, 1, 2},
		{[]float64{1, 2, 3, 4}, 2, 4},
		{func() []float64 {
			v := make([]float64, 100)
			for i := range v {
				v[i] = float64(i + 1)
			}
			return v
		}(), 50, 95},
	}
	for _, tt := range tests {
		if got := nearestRank(tt.v, 0.5); got != tt.p50 {
			t.Errorf("p50 of %v = %v, want %v", tt.v, got, tt.p50)
		}
		if got := nearestRank(tt.v, 0.95); got != tt.p95 {
			t.Errorf("p95 of %v = %v, want %v", tt.v, got, tt.p95)
		}
	}
}
