package sender

import (
	"testing"
	"time"
)

func TestJitter(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 2, 3, time.Millisecond, time.Second, time.Minute} {
		for range 1000 {
			j := jitter(d)
			if d < 2 && j != d || d >= 2 && (j < d/2 || j >= d) {
				t.Fatalf("jitter(%v) = %v; want within [%v, %v)", d, j, d/2, d)
			}
		}
	}
}
