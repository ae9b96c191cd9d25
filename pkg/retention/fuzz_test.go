package retention

import (
	"testing"
	"time"
)

// FuzzParseAge: any text is either refused with ErrAge or read as off (0)
// or an age of at least a minute.
func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"8d", "400d", "36h", "off", "0", "1m", "59s", "-1d", "9999999999d", "1h30m", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseAge(s)
		if err != nil {
			if d != 0 {
				t.Fatalf("ParseAge(%q) = %v with error %v", s, d, err)
			}
			return
		}
		if d != 0 && d < time.Minute {
			t.Fatalf("ParseAge(%q) = %v: below a minute", s, d)
		}
	})
}
