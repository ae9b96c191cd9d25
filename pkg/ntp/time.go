package ntp

import "time"

// unixOffset is the number of seconds from the NTP prime epoch (1900-01-01
// UTC) to the Unix epoch (1970-01-01 UTC).
const unixOffset = 2208988800

// eraSeconds is the length of one NTP era: the 32-bit seconds field wraps
// every 2^32 seconds (next on 2036-02-07 06:28:16 UTC).
const eraSeconds = 1 << 32

// Time is an NTP 64-bit timestamp: unsigned seconds since the start of the
// current era in the upper 32 bits and a binary fraction of a second in the
// lower 32 bits (RFC 5905 §6). Zero means "unknown" on the wire.
//
// The seconds field does not say which era it belongs to. Following the
// usual practice (RFC 4330 §3), a timestamp whose most significant bit is
// clear (before 1968-01-20 in era 0) is taken to be in era 1, i.e. after
// 2036-02-07. That keeps every timestamp between 1968 and 2104 correct.
type Time uint64

// Seconds returns the seconds field.
func (t Time) Seconds() uint32 { return uint32(t >> 32) }

// Fraction returns the fraction field, in units of 2^-32 s.
func (t Time) Fraction() uint32 { return uint32(t) }

// IsZero reports whether t is the "unknown" timestamp.
func (t Time) IsZero() bool { return t == 0 }

// unixSeconds returns the whole Unix seconds of t with the era pivot applied.
func (t Time) unixSeconds() int64 {
	s := int64(t >> 32)
	if s&(1<<31) == 0 {
		s += eraSeconds
	}
	return s - unixOffset
}

// Unix returns t as Unix seconds with the fraction; 0 for the zero
// timestamp. A float64 keeps about 0.2 µs of resolution for present-day
// dates, which is finer than any NTP server's precision.
func (t Time) Unix() float64 {
	if t == 0 {
		return 0
	}
	return float64(t.unixSeconds()) + float64(uint32(t))/eraSeconds
}

// Time returns t as a time.Time in UTC, truncated to the nanosecond; the zero
// time.Time for the zero timestamp.
func (t Time) Time() time.Time {
	if t == 0 {
		return time.Time{}
	}
	nsec := (uint64(uint32(t)) * 1e9) >> 32
	return time.Unix(t.unixSeconds(), int64(nsec)).UTC()
}

// FromTime converts tm to an NTP timestamp. Dates after 2036-02-07 wrap into
// era 1, as on the wire. The fraction is rounded up so that
// FromTime(tm).Time() gives back tm exactly (to the nanosecond). The zero
// time.Time gives the zero timestamp, and only it: the instant that encodes
// as all zeros (2036-02-07 06:28:16 UTC) becomes 2^-32 s later instead.
func FromTime(tm time.Time) Time {
	if tm.IsZero() {
		return 0
	}
	secs := uint64(tm.Unix()+unixOffset) & (eraSeconds - 1)
	nsec := uint64(tm.Nanosecond())
	frac := (nsec<<32 + 1e9 - 1) / 1e9
	if secs|frac == 0 {
		frac = 1
	}
	return Time(secs<<32 | frac)
}

// Sub returns a−b in seconds. The subtraction is done in 64-bit two's
// complement, so it is exact before the conversion to float64 and correct
// across an era boundary as long as the two timestamps are less than 68
// years apart (RFC 5905 §6).
func Sub(a, b Time) float64 {
	return float64(int64(a-b)) / eraSeconds
}

// ShortSeconds converts the NTP short format (16-bit seconds, 16-bit
// fraction), used for root delay and root dispersion, to seconds.
func ShortSeconds(v uint32) float64 {
	return float64(v) / (1 << 16)
}
