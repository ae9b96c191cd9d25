package human

import "strconv"

// Bytes formats a size in binary units with three significant digits:
// 512 → "512 B", 3355443 → "3.2 MiB". A figure that would reach 1000 moves
// to the next unit (1,000 KiB reads "0.98 MiB"), so no cell needs four
// digits before the point.
func Bytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB", "PiB"} {
		v /= 1024
		if roundSig(v, 3) < 1000 || u == "PiB" {
			return sig3(v) + " " + u
		}
	}
	panic("unreachable")
}
