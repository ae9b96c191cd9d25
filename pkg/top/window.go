package top

import "time"

// window holds the two latest distinct samples of a set of running totals,
// each stamped with the time its source measured it, so a rate spans
// exactly the interval between two measurements however often they are
// read.
type window struct {
	prevAt, lastAt time.Time
	prev, last     []int64
}

// observe records a sample taken at at. A sample no newer than the latest
// (the same statistics served twice) is ignored.
func (w *window) observe(at time.Time, totals ...int64) {
	if !w.lastAt.IsZero() && !at.After(w.lastAt) {
		return
	}
	w.prevAt, w.prev = w.lastAt, w.last
	w.lastAt, w.last = at, totals
}

// ready reports whether two samples exist.
func (w *window) ready() bool { return !w.prevAt.IsZero() }

// seconds is the time between the two samples.
func (w *window) seconds() float64 { return w.lastAt.Sub(w.prevAt).Seconds() }

// delta is the change of total i between the two samples; ok is false
// before two samples and when the total went backwards (its source was
// reset), when the change is unknown.
func (w *window) delta(i int) (d int64, ok bool) {
	if !w.ready() || i >= len(w.last) || i >= len(w.prev) {
		return 0, false
	}
	d = w.last[i] - w.prev[i]
	return d, d >= 0
}

// rate is delta(i) per second.
func (w *window) rate(i int) (float64, bool) {
	d, ok := w.delta(i)
	if !ok || w.seconds() <= 0 {
		return 0, false
	}
	return float64(d) / w.seconds(), true
}

// sum adds figures that may be unknown: the result is known when at least
// one part is.
type sum struct {
	v  float64
	ok bool
}

func (s *sum) add(v float64, ok bool) {
	if ok {
		s.v += v
		s.ok = true
	}
}

func (s sum) ptr() *float64 {
	if !s.ok {
		return nil
	}
	v := s.v
	return &v
}
