package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/session"
)

// A database from before the series (the fixtures of schema 1 and of
// schema 4, the last one without it, migrated) says where its series
// starts: at the migration, with nothing made up for the clients it
// already had, which do not count as new when they come back.
func TestSeriesStartsAtMigration(t *testing.T) {
	for _, fixture := range []string{fixtureV1, fixtureV4} {
		t.Run(fixture, func(t *testing.T) {
			path := copyFixtureFile(t, fixture)
			if v := fixtureVersion(t, path); v >= 6 {
				t.Fatalf("%s is at schema %d: it must come from before the series (6)", fixture, v)
			}
			before := time.Now().Truncate(time.Second)
			s := openAt(t, path, Options{})
			after := time.Now()
			ctx := context.Background()
			start, err := s.SeriesStart(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if start.Before(before) || start.After(after) {
				t.Errorf("series_start %s, want the migration's time, between %s and %s", start, before, after)
			}
			var minutes, hours int
			if err := s.ReadDB().QueryRow("SELECT (SELECT count(*) FROM series_minute), (SELECT count(*) FROM series_hour)").Scan(&minutes, &hours); err != nil {
				t.Fatal(err)
			}
			if minutes != 0 || hours != 0 {
				t.Errorf("the migration made %d minute and %d hour buckets from the past; want none", minutes, hours)
			}
			fixtureDay := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
			res, err := s.Series(ctx, SeriesQuery{From: fixtureDay, To: fixtureDay.Add(48 * time.Hour), Step: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Series) != 0 || !res.Start.Equal(start) {
				t.Errorf("series of the fixture's clients: %d interfaces, start %s; want none, %s", len(res.Series), res.Start, start)
			}

			commitAll(t, s, "fixture-worker", 101, sess("198.51.100.10", 0), sess("198.51.100.99", 1))
			tot, _, err := s.SeriesTotals(ctx, t0, t0.Add(time.Minute), nil)
			if err != nil {
				t.Fatal(err)
			}
			if b := tot["eth0"]; b == nil || b.Requests != 2 || b.NewClients != 1 || b.Clients.Count() != 2 {
				t.Errorf("after a commit: %+v, want 2 requests from 2 clients, 1 of them new", b)
			}
		})
	}
}

// fixtureVersion is the schema version a database file is at, read
// without migrating it.
func fixtureVersion(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow("SELECT max(version) FROM schema_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Sessions land in the minute of their capture time whatever the order of
// the batches that carry them; a client is new once, in the minute of its
// first packet in the batch that created its row; hours hold their minutes.
func TestSeriesLateSessions(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	// 10:05 first, then a session of 09:59 from the same client (late)
	// and a new client at 10:06 with an other-mode packet at 10:07.
	commitAll(t, s, "w", 1, sess("198.51.100.1", 5*60, answered(0.001, 0.0001, 0.0002)))
	commitAll(t, s, "w", 2,
		sess("198.51.100.1", -60, answered(0.002, 0.0002, 0.0003), kod("RATE")),
		sess("198.51.100.2", 6*60, mode(2, 6)),
		sess("198.51.100.2", 7*60),
	)
	commitAll(t, s, "w", 5, sess("198.51.100.1", 5*60+30)) // into the stored 10:05 row

	res, err := s.Series(ctx, SeriesQuery{From: t0.Add(-time.Hour), To: t0.Add(10 * time.Minute), Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 1 || len(res.Series[0].Points) != 70 {
		t.Fatalf("got %d series, want eth0 with 70 minutes", len(res.Series))
	}
	want := map[string][4]int64{ // requests, kod, other modes, new clients
		"09:59": {1, 1, 0, 0},
		"10:05": {2, 0, 0, 1},
		"10:06": {0, 0, 1, 1},
		"10:07": {1, 0, 0, 0},
	}
	for _, p := range res.Series[0].Points {
		w := want[p.Start.Format("15:04")]
		got := [4]int64{p.Requests, p.KoD, p.Modes[6], p.NewClients}
		if got != w {
			t.Errorf("%s: requests, kod, mode 6, new = %v, want %v", p.Start.Format("15:04"), got, w)
		}
		if _, ok := p.Processing.Quantile(0.5); ok != (w[0] > 0 && p.Answered > 0) {
			t.Errorf("%s: a processing percentile where there is none, or none where there is one", p.Start.Format("15:04"))
		}
	}
	hours, err := s.Series(ctx, SeriesQuery{From: t0.Add(-time.Hour), To: t0.Add(time.Hour), Step: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	p := hours.Series[0].Points
	if len(p) != 2 || p[0].Requests != 1 || p[1].Requests != 3 || p[1].NewClients != 2 || p[1].Clients.Count() != 2 || p[1].Modes[6] != 1 {
		t.Errorf("hours: %+v", p)
	}
}

// A bad range is refused with the reason, before anything is read.
func TestSeriesQueryCheck(t *testing.T) {
	s := openTest(t, Options{})
	for _, c := range []struct {
		name string
		q    SeriesQuery
		want error
	}{
		{"step of 90s", SeriesQuery{From: t0, To: t0.Add(time.Hour), Step: 90 * time.Second}, ErrSeriesQuery},
		{"step of 0", SeriesQuery{From: t0, To: t0.Add(time.Hour)}, ErrSeriesQuery},
		{"negative step", SeriesQuery{From: t0, To: t0.Add(time.Hour), Step: -time.Minute}, ErrSeriesQuery},
		{"from after to", SeriesQuery{From: t0.Add(time.Hour), To: t0, Step: time.Minute}, ErrSeriesQuery},
		{"400 days of minutes", SeriesQuery{From: t0.Add(-400 * 24 * time.Hour), To: t0, Step: time.Minute}, ErrSeriesPoints},
		{"one point too many", SeriesQuery{From: t0, To: t0.Add(MaxSeriesPoints*time.Minute + time.Second), Step: time.Minute}, ErrSeriesPoints},
	} {
		if _, err := s.Series(context.Background(), c.q); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	for _, q := range []SeriesQuery{
		{From: t0, To: t0.Add(MaxSeriesPoints * time.Minute), Step: time.Minute},
		{From: t0.Add(-400 * 24 * time.Hour), To: t0, Step: 24 * time.Hour},
		{From: t0, To: t0, Step: time.Minute},
	} {
		res, err := s.Series(context.Background(), SeriesQuery{From: q.From, To: q.To, Step: q.Step, Interfaces: []string{"eth0"}})
		if err != nil {
			t.Errorf("%v: %v", q, err)
			continue
		}
		if n := int64(len(res.Series[0].Points)); n != q.points() || n > MaxSeriesPoints {
			t.Errorf("%v: %d points, want %d", q, n, q.points())
		}
	}
}

// TestSeriesTotalsWidenWhereMinutesWent: a range whose ragged start (or
// end) lies where the minute retention has deleted the minutes, though
// their hours are kept, is read from the whole hour at that end, and says
// so; read as asked, its part of that hour would count nothing. A range
// within the minutes kept, and one in a store whose minutes no retention
// has touched, are read as asked. The same holds a level up, for hours
// deleted where their days are kept.
func TestSeriesTotalsWidenWhereMinutesWent(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	// One request every five minutes from t0 (10:00) for two days.
	var ss []session.Session
	for i := range 2 * 24 * 12 {
		ss = append(ss, sess(fmt.Sprintf("198.51.100.%d", i%200), float64(i*300)))
	}
	commitAll(t, s, "w", 1, ss...)
	requestsIn := func(from, to time.Time) int64 {
		var n int64
		for i := range ss {
			if !ss[i].Timestamp.Before(from) && ss[i].Timestamp.Before(to) {
				n++
			}
		}
		return n
	}
	h := func(d time.Duration) time.Time { return t0.Add(d) }
	check := func(step string, from, to, wantFrom, wantTo time.Time) {
		t.Helper()
		tot, covered, err := s.SeriesTotals(ctx, from, to, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		if b := tot["eth0"]; b != nil {
			got = b.Requests
		}
		if !covered.From.Equal(wantFrom) || !covered.To.Equal(wantTo) || got != requestsIn(wantFrom, wantTo) {
			t.Errorf("%s: [%s, %s) read as [%s, %s) with %d requests; want [%s, %s) with %d", step, from, to,
				covered.From, covered.To, got, wantFrom, wantTo, requestsIn(wantFrom, wantTo))
		}
	}
	check("nothing deleted", h(90*time.Minute+30*time.Second), h(5*time.Hour+20*time.Minute), h(90*time.Minute), h(5*time.Hour+20*time.Minute))

	// The minutes before 20:00 of the first day go.
	cut := h(10 * time.Hour)
	if _, err := s.DeleteSeriesBefore(ctx, MinuteStep, cut); err != nil {
		t.Fatal(err)
	}
	check("ragged start before the cut", h(7*time.Hour+25*time.Minute), h(12*time.Hour+10*time.Minute), h(7*time.Hour), h(12*time.Hour+10*time.Minute))
	check("both ends before the cut", h(2*time.Hour+25*time.Minute), h(5*time.Hour+40*time.Minute), h(2*time.Hour), h(6*time.Hour))
	check("within the minutes kept", h(10*time.Hour+25*time.Minute), h(12*time.Hour+10*time.Minute), h(10*time.Hour+25*time.Minute), h(12*time.Hour+10*time.Minute))

	// The minutes and hours before noon of the second day go, and with
	// them the first day; the second day's bucket is kept.
	noon := t0.Truncate(DayStep).Add(DayStep + 12*time.Hour)
	for _, step := range []time.Duration{MinuteStep, HourStep} {
		if _, err := s.DeleteSeriesBefore(ctx, step, noon); err != nil {
			t.Fatal(err)
		}
	}
	day := noon.Add(-12 * time.Hour)
	check("ragged hours where only their day is kept", day.Add(3*time.Hour+5*time.Minute), day.Add(20*time.Hour), day, day.Add(DayStep))
}
