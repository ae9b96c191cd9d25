package wire

import (
	"math"
	"math/bits"
	"strconv"
)

// appendNumber appends v as a JSON number that strconv.ParseFloat (and so the
// Decoder) reads back as exactly v, bit for bit. NaN and ±Inf have no JSON
// form; callers write null for them instead.
//
// strconv's shortest representation costs more than the rest of a session
// line together, so the values a worker produces take faster routes, each
// exact by construction rather than by search:
//
//   - A dyadic value with at most 32 fractional bits (NTP timestamps and
//     time differences, which count units of 2^-32 s; root delay and
//     dispersion, units of 2^-16 s) has a finite decimal expansion of as many
//     digits as it has fractional bits. That expansion is computed exactly
//     in 128 bits and then rounded to the digits that the value's binary
//     precision calls for: a decimal within a quarter of the float's spacing
//     of it can only parse back to it. That gives 16 to 18 significant
//     digits, what a shortest representation would mostly use too, and keeps
//     ParseFloat on its fast path.
//   - A value that is a whole number of nanoseconds (capture-time
//     differences, computed as nanoseconds/1e9) is written with nine
//     decimals: ParseFloat rounds that decimal exactly as the division that
//     made the value did.
//
// Anything else (values beyond 2^53, subnormals, other fractions) goes
// through strconv as before.
func appendNumber(b []byte, v float64) []byte {
	u := math.Float64bits(v)
	neg := u>>63 != 0
	biased := int(u>>52) & 0x7ff
	switch {
	case u<<1 == 0: // ±0
		if neg {
			return append(b, "-0"...)
		}
		return append(b, '0')
	case biased == 0 || biased == 0x7ff: // subnormal, Inf, NaN
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	}
	m := u&(1<<52-1) | 1<<52
	e := biased - 1075 // |v| = m × 2^e
	if e >= 0 {
		if e > 10 { // m<<e would not fit in 63 bits
			return strconv.AppendFloat(b, v, 'f', -1, 64)
		}
		return appendSigned(b, neg, m<<e)
	}
	frac := -e // fractional bits of m
	if tz := bits.TrailingZeros64(m); tz >= frac {
		return appendSigned(b, neg, m>>frac)
	} else {
		m >>= tz
		frac -= tz
	}
	if frac > maxFracBits {
		return appendNanos(b, v)
	}
	whole, part := m>>frac, m&(1<<frac-1)

	// part/2^frac has an exact expansion of frac decimals. Keep n of them
	// with 10^-n ≤ 2^(E-53), E the binary exponent of v, so that the
	// rounded decimal lies within a quarter of the float spacing (2^(E-52))
	// of v (78914/2^18 is log10(2) rounded up); fewer decimals than frac
	// are rounded half up.
	n := min(frac, ((53-(biased-1023))*78914+1<<18-1)>>18)
	// q = round(part × 10^n / 2^frac) in 128 bits. n > 19 only for
	// |v| < 2^-10, where q stays below 2^58 (about 17 significant digits).
	p, k := part, n
	if k > 19 {
		p *= pow10[k-19] // part < 2^32 and n ≤ 26: below 2^56
		k = 19
	}
	hi, lo := bits.Mul64(p, pow10[k])
	var carry uint64
	lo, carry = bits.Add64(lo, 1<<(frac-1), 0)
	hi += carry
	q := hi<<(64-frac) | lo>>frac
	if n <= 19 && q == pow10[n] { // the fraction rounded up to 1
		whole++
		q = 0
	}
	return appendFraction(appendSigned(b, neg, whole), q, n)
}

// maxFracBits is the most fractional bits the exact decimal route handles:
// NTP's finest unit is 2^-32 s.
const maxFracBits = 32

// appendNanos writes v with nine decimals when it is a whole number of
// nanoseconds, and through strconv otherwise.
func appendNanos(b []byte, v float64) []byte {
	a := math.Abs(v)
	// Below 2^53 ns the count is an exact float64, and n/1e9 is the
	// correctly rounded quotient, as ParseFloat of the decimal is.
	if a < 1<<53/1e9 {
		if n := math.Round(a * 1e9); n/1e9 == a {
			ns := uint64(n)
			return appendFraction(appendSigned(b, v < 0, ns/1e9), ns%1e9, 9)
		}
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

func appendSigned(b []byte, neg bool, v uint64) []byte {
	if neg {
		b = append(b, '-')
	}
	return appendDecimal(b, v)
}

// appendDecimal appends v in decimal. Unlike strconv.AppendUint it writes
// the digits in place rather than through a scratch array.
func appendDecimal(b []byte, v uint64) []byte {
	if v < 10 {
		return append(b, byte('0'+v))
	}
	// The number of digits from the bit length (1233/4096 ≈ log10(2)),
	// corrected by one comparison.
	n := bits.Len64(v) * 1233 >> 12
	if n < len(pow10) && v >= pow10[n] {
		n++
	}
	at := len(b)
	b = extend(b, n)
	putDigits(b[at:], v)
	return b
}

// appendFraction appends the fraction q/10^n (q < 10^n) as "." and its
// digits without trailing zeros, or nothing when q is 0.
func appendFraction(b []byte, q uint64, n int) []byte {
	if q == 0 {
		return b
	}
	for q%10 == 0 {
		q /= 10
		n--
	}
	at := len(b)
	b = extend(b, n+1)
	b[at] = '.'
	putDigits(b[at+1:], q)
	return b
}

// extend returns b lengthened by n bytes, for the caller to fill.
func extend(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	return append(b, make([]byte, n)...)
}

// putDigits writes v into dst as len(dst) decimal digits, zero-padded on
// the left; v must be below 10^len(dst).
func putDigits(dst []byte, v uint64) {
	i := len(dst)
	for i >= 2 {
		q := v / 100
		r := v - q*100
		dst[i-1], dst[i-2] = pairs[2*r+1], pairs[2*r]
		v = q
		i -= 2
	}
	if i == 1 {
		dst[0] = byte('0' + v)
	}
}

const pairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// pow10[i] is 10^i.
var pow10 = [20]uint64{
	1, 10, 100, 1000, 10000,
	100000, 1000000, 10000000, 100000000, 1000000000,
	10000000000, 100000000000, 1000000000000, 10000000000000, 100000000000000,
	1000000000000000, 10000000000000000, 100000000000000000, 1000000000000000000, 10000000000000000000,
}
