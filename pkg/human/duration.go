package human

import (
	"math"
	"strconv"
)

// unit is one step of the duration scale: a value of at least min seconds
// (and below the next unit's min) is shown divided by size.
type unit struct {
	min  float64
	size float64
	name string
}

// units runs from the smallest to the largest. Sub-second steps are powers
// of 1000, so three significant digits keep the resolution NTP timings need
// (a server answers in tens of microseconds). Beyond that a unit lasts
// until its figure reaches 100 (or 48 h), so a 64 s poll interval reads
// "64 s" and 90 minutes "90 min", the way people speak of intervals.
var units = []unit{
	{0, 1e-9, "ns"},
	{1e-6, 1e-6, "µs"},
	{1e-3, 1e-3, "ms"},
	{1, 1, "s"},
	{100, 60, "min"},
	{100 * 60, 3600, "h"},
	{48 * 3600, 86400, "d"},
}

// Seconds formats a duration given in seconds with three significant digits
// in the unit its size calls for: 0.000842 → "842 µs", 0.00358 → "3.58 ms",
// 64 → "64 s", 1024 → "17.1 min". Trailing zeros are dropped ("4.2 s",
// "2 h"). Negative durations keep their sign; NaN and infinities are
// Missing.
func Seconds(s float64) string {
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return Missing
	}
	if s == 0 {
		return "0 s"
	}
	sign := ""
	if s < 0 {
		sign, s = "-", -s
	}
	// Choose the unit after rounding, so 999.96 µs reads "1 ms", not
	// "1000 µs".
	r := roundSig(s, 3)
	u := units[0]
	for _, c := range units[1:] {
		if r >= c.min {
			u = c
		}
	}
	return sign + sig3(s/u.size) + " " + u.name
}

// SecondsPtr is Seconds of *s, or Missing when s is nil.
func SecondsPtr(s *float64) string {
	if s == nil {
		return Missing
	}
	return Seconds(*s)
}

// sig3 formats v (> 0) with three significant digits and no trailing zeros;
// from 1000 up it keeps every integer digit.
func sig3(v float64) string {
	if v >= 999.5 {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	v = roundSig(v, 3)
	decimals := 0
	switch {
	case v < 10:
		decimals = 2
	case v < 100:
		decimals = 1
	}
	out := strconv.FormatFloat(v, 'f', decimals, 64)
	if decimals > 0 {
		for out[len(out)-1] == '0' {
			out = out[:len(out)-1]
		}
		if out[len(out)-1] == '.' {
			out = out[:len(out)-1]
		}
	}
	return out
}

// roundSig rounds v (> 0) to n significant digits.
func roundSig(v float64, n int) float64 {
	p := math.Pow(10, float64(n)-math.Ceil(math.Log10(v)))
	return math.Round(v*p) / p
}
