package session

import "time"

// MaxInterfaceLen bounds an interface name wherever one arrives: in a
// worker's hello, in a session line and in an API filter. It is generous:
// workers may run on other systems than Linux (where IFNAMSIZ is 16).
const MaxInterfaceLen = 64

// TimeLayout is how session times are written on the wire and in the store:
// RFC 3339, UTC, always nine fractional digits. Being fixed-width, text in
// this layout sorts the same way as the times it holds.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// FormatTime returns t in TimeLayout.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// AppendTime appends t in TimeLayout to b.
func AppendTime(b []byte, t time.Time) []byte { return t.UTC().AppendFormat(b, TimeLayout) }
