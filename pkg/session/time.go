package session

import "time"

// TimeLayout is how session times are written on the wire and in the store:
// RFC 3339, UTC, always nine fractional digits. Being fixed-width, text in
// this layout sorts the same way as the times it holds.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// FormatTime returns t in TimeLayout.
func FormatTime(t time.Time) string { return string(AppendTime(make([]byte, 0, len(TimeLayout)), t)) }

// AppendTime appends t in TimeLayout to b.
//
// A worker writes one time per session, and time.Time.AppendFormat, which
// interprets the layout on every call, cost as much as all the session's
// integers together; the fixed layout is written digit by digit here
// instead. Years outside 1–9999, which the layout cannot hold in four
// digits, go through AppendFormat.
func AppendTime(b []byte, t time.Time) []byte {
	sec := t.Unix()
	if sec < minFastUnix || sec > maxFastUnix {
		return t.UTC().AppendFormat(b, TimeLayout)
	}
	// Days since 0000-03-01 (proleptic Gregorian), where leap days fall at
	// the end of a year: the civil date then follows from integer
	// arithmetic alone (H. Hinnant, "chrono-Compatible Low-Level Date
	// Algorithms"). Everything here is non-negative within the fast range.
	days := (sec-minFastUnix)/86400 + daysTo0001
	sod := (sec - minFastUnix) % 86400
	era := days / 146097
	doe := days - era*146097                               // day of the 400-year era
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // year of the era
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // day of the March-based year
	mp := (5*doy + 2) / 153                                // March = 0
	day := doy - (153*mp+2)/5 + 1
	month := mp + 3
	year := yoe + era*400
	if month > 12 {
		month -= 12
		year++
	}

	var buf [len(TimeLayout)]byte
	put2(buf[0:2], int(year/100))
	put2(buf[2:4], int(year%100))
	buf[4] = '-'
	put2(buf[5:7], int(month))
	buf[7] = '-'
	put2(buf[8:10], int(day))
	buf[10] = 'T'
	put2(buf[11:13], int(sod/3600))
	buf[13] = ':'
	put2(buf[14:16], int(sod/60%60))
	buf[16] = ':'
	put2(buf[17:19], int(sod%60))
	buf[19] = '.'
	ns := t.Nanosecond()
	put2(buf[20:22], ns/10_000_000)
	put2(buf[22:24], ns/100_000%100)
	put2(buf[24:26], ns/1_000%100)
	put2(buf[26:28], ns/10%100)
	buf[28] = byte('0' + ns%10)
	buf[29] = 'Z'
	return append(b, buf[:]...)
}

// The fast range of AppendTime: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
const (
	minFastUnix = -62135596800
	maxFastUnix = 253402300799
	// daysTo0001 is 0001-01-01 counted in days from 0000-03-01.
	daysTo0001 = 306
)

func put2(dst []byte, v int) {
	dst[0] = byte('0' + v/10)
	dst[1] = byte('0' + v%10)
}
