package ntp

import (
	"math"
	"testing"
	"time"
)

func TestTimeConversions(t *testing.T) {
	tests := []struct {
		name string
		t    Time
		unix float64
		time time.Time
	}{
		{"zero is null", 0, 0, time.Time{}},
		{"unix epoch", Time(2208988800) << 32, 0, time.Unix(0, 0).UTC()},
		{"half second", Time(2208988800)<<32 | 1<<31, 0.5, time.Unix(0, 5e8).UTC()},
		// ntpq printed this one as 2026-11-25T18:13:02.566Z.
		{"2026", Time(0xeeb1a3ae91247dc5), 1795630382.566963, time.Date(2026, 11, 25, 18, 13, 2, 566963062, time.UTC)},
		{"last second of era 0", Time(0xffffffff) << 32, 2085978495, time.Date(2036, 2, 7, 6, 28, 15, 0, time.UTC)},
		{"first second of era 1", Time(1) << 32, 2085978497, time.Date(2036, 2, 7, 6, 28, 17, 0, time.UTC)},
		{"era 1, last second before the pivot", Time(0x7fffffff) << 32, 4233462143, time.Date(2104, 2, 26, 9, 42, 23, 0, time.UTC)},
		{"pivot: 1968-01-20 is era 0", Time(0x80000000) << 32, -61505152, time.Date(1968, 1, 20, 3, 14, 8, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.t.Unix(); math.Abs(got-tc.unix) > 1e-6 {
				t.Errorf("Unix() = %.9f, want %.9f", got, tc.unix)
			}
			if got := tc.t.Time(); !got.Equal(tc.time) {
				t.Errorf("Time() = %v, want %v", got, tc.time)
			}
		})
	}
}

func TestFromTimeRoundTrip(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 25, 18, 0, 0, 1, time.UTC),
		time.Date(2026, 11, 25, 18, 0, 0, 999999999, time.UTC),
		time.Date(2036, 2, 7, 6, 28, 15, 999999999, time.UTC),
		time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC), // seconds field wraps to 0
		time.Date(2050, 6, 1, 0, 0, 0, 123456789, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		got := FromTime(tm)
		if back := got.Time(); !back.Equal(tm) {
			t.Errorf("FromTime(%v) = %#x, back to %v", tm, uint64(got), back)
		}
	}
	if FromTime(time.Time{}) != 0 {
		t.Error("FromTime(zero) is not the zero timestamp")
	}
	// 2036-02-07 06:28:16 is second 0 of era 1: all zero on the wire, which
	// means "unknown", so it is moved by one fraction unit.
	if got := FromTime(time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC)); got != 1 {
		t.Errorf("era boundary encodes as %#x, want 0x1", uint64(got))
	}
}

func TestSub(t *testing.T) {
	tests := []struct {
		name string
		a, b Time
		want float64
	}{
		{"equal", 0x1234_5678_9abc_def0, 0x1234_5678_9abc_def0, 0},
		{"one second", 3 << 32, 2 << 32, 1},
		{"negative", 2 << 32, 3 << 32, -1},
		{"fraction", 1<<32 | 1<<31, 1 << 32, 0.5},
		{"one unit", 1, 0, 1.0 / (1 << 32)},
		{"across the 2036 wrap", 5 << 32, 0xfffffffb << 32, 10},
		{"backwards across the wrap", 0xfffffffb << 32, 5 << 32, -10},
	}
	for _, tc := range tests {
		if got := Sub(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: Sub(%#x, %#x) = %g, want %g", tc.name, uint64(tc.a), uint64(tc.b), got, tc.want)
		}
	}
}

func TestShortSeconds(t *testing.T) {
	for v, want := range map[uint32]float64{0: 0, 1 << 16: 1, 1 << 15: 0.5, 0x0001_8000: 1.5, 1: 1.0 / 65536} {
		if got := ShortSeconds(v); got != want {
			t.Errorf("ShortSeconds(%#x) = %g, want %g", v, got, want)
		}
	}
}
