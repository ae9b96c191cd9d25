package retention

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseAge reads a retention: a number of days ("8d"), a Go duration
// ("36h") or "off" / "0" (keep for ever, returned as 0).
func ParseAge(s string) (time.Duration, error) {
	switch s {
	case "off", "0":
		return 0, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 || days > 100*365 {
			return 0, fmt.Errorf("%w: %q: want a number of days from 1 to 36500 such as 8d, a duration such as 36h, or off", ErrAge, s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute {
		return 0, fmt.Errorf("%w: %q: want a number of days such as 8d, a duration of at least 1m such as 36h, or off", ErrAge, s)
	}
	return d, nil
}
