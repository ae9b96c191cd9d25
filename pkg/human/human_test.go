package human

import (
	"math"
	"testing"
	"time"
)

func TestSeconds(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0 s"},
		{5e-10, "0.5 ns"},
		{1.5e-7, "150 ns"},
		{1e-6, "1 µs"},
		{5.64e-5, "56.4 µs"},
		{0.000842, "842 µs"},
		{0.00084249, "842 µs"},
		{0.00099996, "1 ms"}, // rounds up into the next unit, not "1000 µs"
		{0.00358, "3.58 ms"},
		{0.0573, "57.3 ms"},
		{0.5, "500 ms"},
		{1, "1 s"},
		{4.2230995, "4.22 s"},
		{4.2, "4.2 s"},
		{64, "64 s"},
		{99.9, "99.9 s"},
		{99.96, "1.67 min"},
		{1024, "17.1 min"},
		{5400, "90 min"},
		{7200, "2 h"},
		{36 * 3600, "36 h"},
		{3 * 86400, "3 d"},
		{-0.0021, "-2.1 ms"},
		{math.NaN(), Missing},
		{math.Inf(1), Missing},
	}
	for _, tc := range tests {
		if got := Seconds(tc.in); got != tc.want {
			t.Errorf("Seconds(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := SecondsPtr(nil); got != Missing {
		t.Errorf("SecondsPtr(nil) = %q", got)
	}
	v := 0.25
	if got := SecondsPtr(&v); got != "250 ms" {
		t.Errorf("SecondsPtr(0.25) = %q", got)
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{0, "now"},
		{999 * time.Millisecond, "now"},
		{time.Second, "1 s ago"},
		{59 * time.Second, "59 s ago"},
		{99*time.Second + 900*time.Millisecond, "99 s ago"},
		{100 * time.Second, "1 min ago"},
		{3*time.Minute + 59*time.Second, "3 min ago"},
		{99 * time.Minute, "99 min ago"},
		{100 * time.Minute, "1 h ago"},
		{2*time.Hour + 30*time.Minute, "2 h ago"},
		{47 * time.Hour, "47 h ago"},
		{48 * time.Hour, "2 d ago"},
		{400 * 24 * time.Hour, "400 d ago"},
		{-3 * time.Second, "in 3 s"},
	}
	for _, tc := range tests {
		if got := Ago(now.Add(-tc.ago), now); got != tc.want {
			t.Errorf("Ago(now-%v) = %q, want %q", tc.ago, got, tc.want)
		}
	}
	if got := Ago(time.Time{}, now); got != Missing {
		t.Errorf("Ago(zero) = %q, want %q", got, Missing)
	}
}

func TestCount(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"},
		{7, "7"},
		{999, "999"},
		{1000, "1,000"},
		{123456, "123,456"},
		{1234567, "1,234,567"},
		{-1234567, "-1,234,567"},
		{math.MaxInt64, "9,223,372,036,854,775,807"},
		{math.MinInt64, "-9,223,372,036,854,775,808"},
	}
	for _, tc := range tests {
		if got := Count(tc.in); got != tc.want {
			t.Errorf("Count(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRate(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0"},
		{0.04, "0.0"},
		{0.05, "0.1"},
		{12.54, "12.5"},
		{99.94, "99.9"},
		{99.96, "100"},
		{1234.4, "1,234"},
		{-1, Missing},
		{math.NaN(), Missing},
	}
	for _, tc := range tests {
		if got := Rate(tc.in); got != tc.want {
			t.Errorf("Rate(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := RatePtr(nil); got != Missing {
		t.Errorf("RatePtr(nil) = %q", got)
	}
}

func TestPercent(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0%"},
		{1, "100%"},
		{0.995, "99.5%"},
		{0.9, "90.0%"},
		{0.9996, "99.9%"}, // one miss among thousands is not 100%
		{0.00001, "0.1%"}, // one answer among many is not 0%
		{2.0 / 3.0, "66.7%"},
		{math.NaN(), Missing},
	}
	for _, tc := range tests {
		if got := Percent(tc.in); got != tc.want {
			t.Errorf("Percent(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := PercentPtr(nil); got != Missing {
		t.Errorf("PercentPtr(nil) = %q", got)
	}
}

func TestBytes(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1 KiB"},
		{1536, "1.5 KiB"},
		{3355443, "3.2 MiB"},
		{1048575, "1 MiB"}, // rounds into the next unit, not "1024 KiB"
		{1000 * 1024, "0.98 MiB"},
		{868220928, "828 MiB"},
		{1 << 50, "1 PiB"},
		{math.MaxInt64, "8192 PiB"},
	}
	for _, tc := range tests {
		if got := Bytes(tc.in); got != tc.want {
			t.Errorf("Bytes(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
