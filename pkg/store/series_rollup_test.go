package store

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/hll"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
)

// A range read through the rollups (whole days from series_day, whole
// hours at their ends from series_hour, the ragged minutes from
// series_minute) is the same traffic as the range's minutes merged one by
// one: every count equal, every histogram the same (so every percentile),
// and the distinct clients the same count, which is within the sketch's
// error of the exact number of addresses.
func TestSeriesTotalsRollupsEqualMinutes(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	// Four days from 22:13 the day before t0, 3,000 clients: sketches
	// past their exact limit, in days, hours and minutes.
	from := t0.Truncate(24 * time.Hour).Add(-24*time.Hour + 22*time.Hour + 13*time.Minute)
	ss := storetest.SeriesSessions(24000, 3000, from, 4*24*time.Hour, 17)
	tally := storetest.NewTally()
	for start := 0; start < len(ss); start += 5000 {
		b := NewBatch()
		for i := start; i < min(start+5000, len(ss)); i++ {
			b.Add("w", ss[i].Interface, uint64(i+1), &ss[i])
			tally.Add(&ss[i])
		}
		if _, err := s.Commit(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []struct {
		name     string
		from, to time.Time
	}{
		{"three days, ragged at both ends", from.Add(17 * time.Minute), from.Add(3*24*time.Hour + 5*time.Hour + 41*time.Minute)},
		{"whole days", from.Truncate(24 * time.Hour).Add(24 * time.Hour), from.Truncate(24 * time.Hour).Add(72 * time.Hour)},
		{"hours across midnight", from.Add(time.Hour + 47*time.Minute), from.Add(26*time.Hour + 3*time.Minute)},
		{"within an hour", from.Add(50 * time.Minute), from.Add(58 * time.Minute)},
		{"seconds, rounded to minutes", from.Add(30*time.Hour + 20*time.Second), from.Add(80*time.Hour + 40*time.Second)},
	} {
		t.Run(r.name, func(t *testing.T) {
			tot, _, err := s.SeriesTotals(ctx, r.from, r.to, nil)
			if err != nil {
				t.Fatal(err)
			}
			lo := r.from.Truncate(time.Minute)
			hi := r.to.Add(time.Minute - time.Nanosecond).Truncate(time.Minute)
			minutes, err := s.Series(ctx, SeriesQuery{From: lo, To: hi, Step: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if len(minutes.Series) != len(tot) {
				t.Fatalf("%d interfaces through the rollups, %d in the minutes", len(tot), len(minutes.Series))
			}
			for _, ser := range minutes.Series {
				var want SeriesBucket
				for i := range ser.Points {
					want.Merge(&ser.Points[i].SeriesBucket)
				}
				got := tot[ser.Interface]
				if got == nil {
					t.Fatalf("%s: missing through the rollups", ser.Interface)
				}
				sameBucket(t, ser.Interface, got, &want)
				exact := len(tally.Range(ser.Interface, lo, hi).Clients)
				if n := got.Clients.Count(); math.Abs(float64(n)-float64(exact)) > 3*0.016*float64(exact) {
					t.Errorf("%s: %d distinct clients, exactly %d: beyond three standard errors", ser.Interface, n, exact)
				}
			}
		})
	}
}

// sameBucket fails unless got and want hold the same traffic.
func sameBucket(t *testing.T, iface string, got, want *SeriesBucket) {
	t.Helper()
	if got.Requests != want.Requests || got.Answered != want.Answered || got.Unanswered != want.Unanswered ||
		got.KoD != want.KoD || got.NewClients != want.NewClients || got.SnaplenCut != want.SnaplenCut ||
		got.Versions != want.Versions || got.Modes != want.Modes {
		t.Errorf("%s: counts %+v, want %+v", iface, counts(got), counts(want))
	}
	for code, n := range want.KoDCodes {
		if got.KoDCodes[code] != n {
			t.Errorf("%s: kod %s = %d, want %d", iface, code, got.KoDCodes[code], n)
		}
	}
	if len(got.KoDCodes) != len(want.KoDCodes) {
		t.Errorf("%s: kod codes %v, want %v", iface, got.KoDCodes, want.KoDCodes)
	}
	if g, w := got.Clients.Count(), want.Clients.Count(); g != w {
		t.Errorf("%s: %d distinct clients through the rollups, %d from the minutes", iface, g, w)
	}
	var gs, ws hll.Sketch
	gs.Merge(&got.Clients)
	ws.Merge(&want.Clients)
	gb, _ := gs.AppendBinary(nil)
	wb, _ := ws.AppendBinary(nil)
	if !slices.Equal(gb, wb) {
		t.Errorf("%s: the client sketches differ", iface)
	}
	for _, h := range []struct {
		name      string
		got, want interface {
			Count() uint64
			Quantile(float64) (float64, bool)
		}
	}{{"processing", &got.Processing, &want.Processing}, {"wire", &got.Wire, &want.Wire}, {"latency", &got.Latency, &want.Latency}} {
		if h.got.Count() != h.want.Count() {
			t.Errorf("%s %s: %d values, want %d", iface, h.name, h.got.Count(), h.want.Count())
		}
		for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 1} {
			g, _ := h.got.Quantile(q)
			w, _ := h.want.Quantile(q)
			if g != w {
				t.Errorf("%s %s: q%v = %v, want %v", iface, h.name, q, g, w)
			}
		}
	}
}

func counts(b *SeriesBucket) []int64 {
	return append([]int64{b.Requests, b.Answered, b.Unanswered, b.KoD, b.NewClients, b.SnaplenCut}, append(b.Versions[:], b.Modes[:]...)...)
}

// The cover of a range reads whole days from the days, whole hours at
// their ends from the hours, and only the ragged minutes from the minutes.
func TestCoverSpans(t *testing.T) {
	day := t0.Truncate(24 * time.Hour).Unix()
	const m, h, d = 60, 3600, 86400
	for _, c := range []struct {
		name   string
		lo, hi int64
		want   []seriesSpan
	}{
		{"empty", day, day, nil},
		{"minutes", day + 5*m, day + 9*m, []seriesSpan{{0, day + 5*m, day + 9*m}}},
		{"across an hour, no whole one", day + 50*m, day + h + 10*m, []seriesSpan{{0, day + 50*m, day + h + 10*m}}},
		{"hours and minutes", day + 50*m, day + 3*h + 10*m, []seriesSpan{{0, day + 50*m, day + h}, {1, day + h, day + 3*h}, {0, day + 3*h, day + 3*h + 10*m}}},
		{"days, hours and minutes", day - h - 7*m, day + 2*d + 2*h + 3*m, []seriesSpan{
			{0, day - h - 7*m, day - h}, {1, day - h, day}, {2, day, day + 2*d}, {1, day + 2*d, day + 2*d + 2*h}, {0, day + 2*d + 2*h, day + 2*d + 2*h + 3*m}}},
		{"whole days", day, day + 3*d, []seriesSpan{{2, day, day + 3*d}}},
	} {
		got := coverSpans(c.lo, c.hi)
		// Empty spans at the ends are left out.
		got = slices.DeleteFunc(got, func(s seriesSpan) bool { return s.lo >= s.hi })
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
