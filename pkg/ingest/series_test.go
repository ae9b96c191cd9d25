package ingest_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/ingest"
	"github.com/ntp-monitor/ntp-monitor/pkg/loghist"
	"github.com/ntp-monitor/ntp-monitor/pkg/store"
	"github.com/ntp-monitor/ntp-monitor/pkg/store/storetest"
)

// seriesError is how far a percentile read from the series may be from the
// exact one: the bound, above loghist's 1.09 %.
const seriesError = 0.02

// The series of sessions sent over TCP equals an independent count of
// them, per interface and minute: three hours of shuffled sessions from one
// worker, then an hour from before them from another (a capture of last
// week ingested late), each landing in the minute of its capture time. The
// hours equal the sum of their minutes, distinct clients over an hour are
// the exact set's size within the sketch's error, and percentiles are within
// 2 % of the exact ones.
func TestSeriesMatchesSessionsSent(t *testing.T) {
	h := start(t, ingest.Config{BatchSize: 500, BatchInterval: 20 * time.Millisecond})
	from := storetest.Base.Truncate(time.Hour)
	recent := storetest.SeriesSessions(12000, 1500, from.Add(time.Hour), 3*time.Hour, 11)
	late := storetest.SeriesSessions(3000, 1500, from, time.Hour, 12)

	tally := storetest.NewTally()
	c := connect(t, h.addr, "w-recent")
	sendAll(t, c, recent)
	waitAcked(t, c, uint64(len(recent)))
	c2 := connect(t, h.addr, "w-late")
	sendAll(t, c2, late)
	waitAcked(t, c2, uint64(len(late)))
	for i := range recent {
		tally.Add(&recent[i])
	}
	for i := range late {
		tally.Add(&late[i])
	}

	ctx := context.Background()
	to := from.Add(4 * time.Hour)
	minutes, err := h.st.Series(ctx, store.SeriesQuery{From: from, To: to, Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(minutes.Series) != 2 || minutes.Series[0].Interface != "eth0" || minutes.Series[1].Interface != "eth1" {
		t.Fatalf("series of %d interfaces, want eth0 and eth1", len(minutes.Series))
	}
	var newClients int64
	for _, ser := range minutes.Series {
		if len(ser.Points) != 240 {
			t.Fatalf("%s: %d minutes, want 240", ser.Interface, len(ser.Points))
		}
		for _, p := range ser.Points {
			want := tally.Range(ser.Interface, p.Start, p.Start.Add(time.Minute))
			checkBucket(t, ser.Interface+" "+p.Start.Format("15:04"), &p.SeriesBucket, want, true)
			if p.NewClients > int64(len(want.Clients)) {
				t.Errorf("%s %s: %d new clients of %d seen", ser.Interface, p.Start.Format("15:04"), p.NewClients, len(want.Clients))
			}
			newClients += p.NewClients
		}
	}
	var stored int64
	if err := h.st.ReadDB().QueryRow("SELECT count(*) FROM ntp_clients").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if newClients != stored {
		t.Errorf("new clients over the series = %d, want %d: one per client row", newClients, stored)
	}

	hours, err := h.st.Series(ctx, store.SeriesQuery{From: from, To: to, Step: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for si, ser := range hours.Series {
		if len(ser.Points) != 4 {
			t.Fatalf("%s: %d hours, want 4", ser.Interface, len(ser.Points))
		}
		for hi, p := range ser.Points {
			want := tally.Range(ser.Interface, p.Start, p.Start.Add(time.Hour))
			name := ser.Interface + " hour " + p.Start.Format("15:04")
			checkBucket(t, name, &p.SeriesBucket, want, false)
			// The hour row is the rollup of its minute rows.
			var sum store.SeriesBucket
			for _, m := range minutes.Series[si].Points[hi*60 : hi*60+60] {
				sum.Merge(&m.SeriesBucket)
			}
			if sum.Requests != p.Requests || sum.NewClients != p.NewClients || sum.KoD != p.KoD ||
				sum.Clients.Count() != p.Clients.Count() || sum.Processing.Count() != p.Processing.Count() {
				t.Errorf("%s is not the sum of its minutes: requests %d/%d, new %d/%d, clients %d/%d",
					name, p.Requests, sum.Requests, p.NewClients, sum.NewClients, p.Clients.Count(), sum.Clients.Count())
			}
		}
	}

	// Over the whole range, through the totals the statistics read.
	totals, _, err := h.st.SeriesTotals(ctx, from.Add(-time.Minute), to.Add(time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, iface := range tally.Interfaces() {
		checkBucket(t, iface+" total", totals[iface], tally.Range(iface, from, to), false)
	}
}

// checkBucket holds one bucket of the series to the exact tally of the same
// span. Distinct clients are exact while the sketch is (at most 256), else
// within 5 % (three standard errors).
func checkBucket(t *testing.T, name string, got *store.SeriesBucket, want *storetest.TallyBucket, exactClients bool) {
	t.Helper()
	if got == nil {
		got = new(store.SeriesBucket)
	}
	if got.Requests != want.Requests || got.Answered != want.Answered || got.Unanswered != want.Unanswered || got.KoD != want.KoD {
		t.Errorf("%s: requests/answered/unanswered/kod %d/%d/%d/%d, want %d/%d/%d/%d", name,
			got.Requests, got.Answered, got.Unanswered, got.KoD, want.Requests, want.Answered, want.Unanswered, want.KoD)
	}
	for code, n := range want.KoDCodes {
		if got.KoDCodes[code] != n {
			t.Errorf("%s: KoD %s = %d, want %d", name, code, got.KoDCodes[code], n)
		}
	}
	for v := range 6 {
		if got.Versions[v] != want.Versions[v] {
			t.Errorf("%s: version %d = %d, want %d", name, v, got.Versions[v], want.Versions[v])
		}
	}
	for _, m := range []int{1, 2, 5, 6, 7} {
		if got.Modes[m] != want.Modes[m] {
			t.Errorf("%s: mode %d = %d, want %d", name, m, got.Modes[m], want.Modes[m])
		}
	}
	n, exact := int64(got.Clients.Count()), int64(len(want.Clients))
	if exactClients && exact <= 256 && n != exact || math.Abs(float64(n-exact)) > 0.05*float64(exact) {
		t.Errorf("%s: %d distinct clients, want %d", name, n, exact)
	}
	for _, m := range []struct {
		name string
		h    *loghist.Histogram
		v    []float64
	}{{"processing", &got.Processing, want.Processing}, {"wire", &got.Wire, want.Wire}, {"latency", &got.Latency, want.Latency}} {
		if m.h.Count() != uint64(len(m.v)) {
			t.Errorf("%s: %s count %d, want %d", name, m.name, m.h.Count(), len(m.v))
			continue
		}
		for _, q := range []float64{0.5, 0.9, 0.99, 1} {
			w, ok := storetest.Percentile(m.v, q)
			g, gok := m.h.Quantile(q)
			if ok != gok || ok && math.Abs(g-w) > seriesError*math.Abs(w) {
				t.Errorf("%s: %s p%g = %g, want %g within %.0f %%", name, m.name, q*100, g, w, seriesError*100)
			}
		}
	}
}
