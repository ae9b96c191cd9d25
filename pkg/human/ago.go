package human

import (
	"strconv"
	"time"
)

// Ago says how long before now t was, in whole units, the way `ps` and
// `systemctl status` do: "now" under a second, then "42 s ago",
// "3 min ago", "2 h ago", "5 d ago". Units switch at 100 s, 100 min and
// 48 h like Seconds, and values are truncated (a client last seen 59 s ago
// has not been seen for a minute). A time after now (the reader's clock
// behind the collector's) reads "in 3 s"; the zero time is Missing.
func Ago(t, now time.Time) string {
	if t.IsZero() {
		return Missing
	}
	d := now.Sub(t)
	if d < 0 {
		return "in " + whole(-d)
	}
	if d < time.Second {
		return "now"
	}
	return whole(d) + " ago"
}

// whole formats d (≥ 0) truncated to the unit its size calls for.
func whole(d time.Duration) string {
	switch {
	case d < 100*time.Second:
		return strconv.FormatInt(int64(d/time.Second), 10) + " s"
	case d < 100*time.Minute:
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min"
	case d < 48*time.Hour:
		return strconv.FormatInt(int64(d/time.Hour), 10) + " h"
	}
	return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + " d"
}
