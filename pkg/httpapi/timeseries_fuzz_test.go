package httpapi

import (
	"testing"
	"time"
)

// FuzzParseStep: a step that parses is a positive multiple of a minute; any
// other text is refused with the step field named.
func FuzzParseStep(f *testing.F) {
	for _, s := range []string{"60s", "5m", "1h", "1d", "400d", "90s", "0s", "-1m", "1.5m", "d", "1e9h", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseStep(s)
		if err != nil {
			if ve, ok := err.(*validationError); !ok || ve.field != "step" {
				t.Fatalf("parseStep(%q): %v, want a validation error of step", s, err)
			}
			return
		}
		if d <= 0 || d%time.Minute != 0 {
			t.Fatalf("parseStep(%q) = %v", s, d)
		}
	})
}
