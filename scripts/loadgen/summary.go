package main

import (
	"fmt"
	"io"
	"slices"
)

// runKey names the runs of one configuration: a batch size and the index
// of a -stream-subscribers entry.
type runKey struct {
	batch, spec int
}

// summarize prints, per batch size and stream configuration, the median,
// minimum and maximum sessions/s over the rounds and the ratio to the
// first configuration. The ratio is taken round by round, between runs
// that ran one after the other, and its median printed: on a shared
// machine whose speed drifts, a pair is closer than the medians of the
// two series.
func summarize(w io.Writer, batches []int, specs []streamSpec, results map[runKey][]*result) {
	fmt.Fprintf(w, "# medians over %d rounds, configurations alternated; ratio: sessions/s against streams %s in the same round (median of the rounds)\n",
		len(results[runKey{batches[0], 0}]), specs[0])
	fmt.Fprintf(w, "%-10s %-20s %12s %12s %12s %7s %12s %12s %7s\n",
		"batch", "streams", "sessions/s", "min", "max", "ratio", "events", "dropped", "lost")
	for _, bs := range batches {
		ref := results[runKey{bs, 0}]
		for si, spec := range specs {
			rs := results[runKey{bs, si}]
			var rates, ratios, events, dropped []float64
			for i, r := range rs {
				rates = append(rates, r.rate())
				ratios = append(ratios, r.rate()/ref[i].rate())
				events = append(events, float64(r.stream.sessions))
				dropped = append(dropped, float64(r.stream.dropped))
			}
			lost := "-"
			if e, d := median(events), median(dropped); e+d > 0 {
				lost = fmt.Sprintf("%.1f%%", 100*d/(e+d))
			}
			fmt.Fprintf(w, "%-10d %-20s %12.0f %12.0f %12.0f %7.3f %12.0f %12.0f %7s\n",
				bs, spec, median(rates), slices.Min(rates), slices.Max(rates), median(ratios), median(events), median(dropped), lost)
		}
	}
}

// median is the middle value, or the mean of the two middle ones.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
