package human

import (
	"math"
	"strconv"
)

// Count formats n with a comma every three digits: 1234567 → "1,234,567".
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	if neg {
		out = append(out, '-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// Rate formats a per-second rate: one decimal below 100 ("12.5"), whole
// numbers with separators above ("1,234"). Negative rates, NaN and
// infinities are Missing: a counter that went backwards was reset, and its
// rate is unknown, not negative.
func Rate(perSecond float64) string {
	if perSecond < 0 || math.IsNaN(perSecond) || math.IsInf(perSecond, 0) {
		return Missing
	}
	if r := math.Round(perSecond*10) / 10; r < 100 {
		return strconv.FormatFloat(r, 'f', 1, 64)
	}
	return Count(int64(math.Round(perSecond)))
}

// RatePtr is Rate of *r, or Missing when r is nil.
func RatePtr(r *float64) string {
	if r == nil {
		return Missing
	}
	return Rate(*r)
}

// Percent formats a ratio from 0 to 1 as a percentage with one decimal:
// 0.995 → "99.5%". Exactly 0 and 1 read "0%" and "100%", and nothing else
// rounds to them (0.9996 reads "99.9%"), so a single unanswered request
// among thousands never hides behind "100%".
func Percent(ratio float64) string {
	if math.IsNaN(ratio) || math.IsInf(ratio, 0) {
		return Missing
	}
	switch {
	case ratio == 1:
		return "100%"
	case ratio == 0:
		return "0%"
	}
	p := math.Round(ratio*1000) / 10
	if ratio < 1 && p >= 100 {
		p = 99.9
	}
	if ratio > 0 && p <= 0 {
		p = 0.1
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}

// PercentPtr is Percent of *ratio, or Missing when ratio is nil.
func PercentPtr(ratio *float64) string {
	if ratio == nil {
		return Missing
	}
	return Percent(*ratio)
}
